module navarch.dev/proxy

go 1.26.0
