module navarch.dev/kubelet

go 1.26.0
