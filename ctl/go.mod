module navarch.dev/ctl

go 1.26.0
