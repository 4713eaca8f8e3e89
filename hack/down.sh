#!/usr/bin/env bash
# Stops what hack/up.sh started. State under /var/lib/navarch is kept, so the
# next `make up` brings the same cluster back.
set -euo pipefail
RUN=${NAVARCH_RUN:-/run/navarch}
for c in apiserver; do
  f=$RUN/$c.pid
  if [ -f "$f" ]; then
    pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
      kill -9 "$pid" 2>/dev/null || true
      echo "stopped navarch-$c"
    fi
    rm -f "$f"
  fi
done
