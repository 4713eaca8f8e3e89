module navarch.dev/controller-manager

go 1.26.0

require (
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/prometheus/client_golang v1.25.0 // indirect
	github.com/robfig/cron/v3 v3.0.1 // indirect
	github.com/spf13/cobra v1.10.2 // indirect
	github.com/spf13/pflag v1.0.10 // indirect
	k8s.io/api v0.34.13 // indirect
	k8s.io/apimachinery v0.34.13 // indirect
	k8s.io/client-go v0.34.13 // indirect
	k8s.io/metrics v0.34.13 // indirect
	k8s.io/utils v0.0.0-20250604170112-4c0f3b243397 // indirect
)
