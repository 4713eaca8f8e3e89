module navarch.dev/controller-manager

go 1.26.0
