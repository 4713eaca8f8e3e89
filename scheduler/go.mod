module navarch.dev/scheduler

go 1.26.0
