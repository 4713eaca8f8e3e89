module navarch.dev/dns

go 1.26.0
