#!/usr/bin/env bash
# Starts the control plane on this machine: navarch-apiserver with an embedded
# etcd, state under /var/lib/navarch, the admin kubeconfig at
# /etc/navarch/admin.conf. Idempotent: a running apiserver is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/bin
STATE=${NAVARCH_STATE:-/var/lib/navarch}
ETC=${NAVARCH_ETC:-/etc/navarch}
RUN=${NAVARCH_RUN:-/run/navarch}
LOG=${NAVARCH_LOG:-/var/log/navarch}
ADMIN=$ETC/admin.conf
mkdir -p "$STATE" "$ETC" "$RUN" "$LOG"

running() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

if running apiserver; then
  echo "navarch-apiserver already running (pid $(cat "$RUN/apiserver.pid"))"
else
  nohup "$BIN/navarch-apiserver" \
    --data-dir "$STATE/apiserver" \
    --admin-kubeconfig "$ADMIN" \
    --secure-port 6443 \
    >"$LOG/apiserver.log" 2>&1 &
  echo $! >"$RUN/apiserver.pid"
  echo "started navarch-apiserver (pid $!), log $LOG/apiserver.log"
fi

# Wait until the apiserver answers /readyz with the admin credentials.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
field() { sed -n "s/^ *$1: *//p" "$ADMIN" | head -1 | base64 -d; }
for i in $(seq 1 120); do
  if [ -s "$ADMIN" ]; then
    field certificate-authority-data >"$tmp/ca.crt"
    field client-certificate-data >"$tmp/client.crt"
    field client-key-data >"$tmp/client.key"
    if [ "$(curl -s --cacert "$tmp/ca.crt" --cert "$tmp/client.crt" --key "$tmp/client.key" https://127.0.0.1:6443/readyz)" = ok ]; then
      break
    fi
  fi
  if ! running apiserver; then
    echo "navarch-apiserver exited; last log lines:" >&2
    tail -20 "$LOG/apiserver.log" >&2
    exit 1
  fi
  sleep 1
  if [ "$i" = 120 ]; then echo "apiserver not ready after 120s" >&2; exit 1; fi
done
echo "apiserver ready at https://127.0.0.1:6443"

if [ ! -e "$HOME/.kube/config" ]; then
  mkdir -p "$HOME/.kube"
  cp "$ADMIN" "$HOME/.kube/config"
  chmod 600 "$HOME/.kube/config"
  echo "admin kubeconfig copied to $HOME/.kube/config"
else
  echo "$HOME/.kube/config exists and was left alone; use the cluster with:"
  echo "  export KUBECONFIG=$ADMIN"
fi
