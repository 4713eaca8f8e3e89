# Settings and functions shared by hack/up.sh and hack/down.sh: where the
# single-node cluster keeps its state, and how its background processes are
# started, watched and stopped. Source it after setting ROOT and BIN.

STATE=${NAVARCH_STATE:-/var/lib/navarch}
ETC=${NAVARCH_ETC:-/etc/navarch}
RUN=${NAVARCH_RUN:-/run/navarch}
LOG=${NAVARCH_LOG:-/var/log/navarch}
ADMIN=$ETC/admin.conf
# The cluster CA: the apiserver's generated PKI, which signs its serving
# certificate and every component's client certificate. The controller-manager
# publishes it to every namespace (ConfigMap kube-root-ca.crt) for pods.
CLUSTER_CA=$STATE/apiserver/pki/ca.crt
KUBELET_ROOT=$STATE/kubelet
# The cluster's pod network: the controller-manager gives the node a /24 of
# it, and the kubelet (kubenet) puts the node's pods on bridge cbr0 in it.
POD_CIDR=${NAVARCH_POD_CIDR:-10.244.0.0/16}
POD_BRIDGE=cbr0
SERVICE_CIDR=10.96.0.0/12
CLUSTER_DNS=10.96.0.10
LOCAL_API=https://127.0.0.1:6443
NODE_NAME=${NAVARCH_NODE_NAME:-$(hostname | tr '[:upper:]' '[:lower:]')}
if [ -z "${NAVARCH_NODE_IP:-}" ]; then
  # The source address of the default route: asks the routing table, sends nothing.
  NAVARCH_NODE_IP=$(ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p' | head -1)
  # No default route: the first global address that is not the CNI bridge's.
  if [ -z "$NAVARCH_NODE_IP" ]; then
    NAVARCH_NODE_IP=$(ip -4 -o addr show scope global 2>/dev/null | awk '$2 != "navarch0" && $2 != "cbr0" {sub("/.*", "", $4); print $4; exit}')
  fi
fi
NODE_IP=${NAVARCH_NODE_IP:-127.0.0.1}

# The components, in the order they start; down stops them in reverse.
COMPONENTS="apiserver controller-manager scheduler kubelet proxy"

navctl() { "$BIN/navctl" --kubeconfig "$ADMIN" "$@"; }

# running NAME: the component's recorded process is alive.
running() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

# start NAME BINARY ARGS...: starts the component in the background, in its
# own session (so it outlives the shell), unless it is already running.
start() {
  local name=$1
  shift
  if running "$name"; then
    echo "up: navarch-$name already running (pid $(cat "$RUN/$name.pid"))"
    return 0
  fi
  setsid nohup "$@" >>"$LOG/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
  echo "up: started navarch-$name (pid $!), log $LOG/$name.log"
}

# wait_for WHAT SECONDS COMPONENT CHECK...: runs CHECK every second until it
# succeeds; fails, showing COMPONENT's log, when COMPONENT exits or time runs out.
wait_for() {
  local what=$1 secs=$2 comp=$3 i
  shift 3
  for ((i = 0; i < secs; i++)); do
    if "$@"; then return 0; fi
    if ! running "$comp"; then
      echo "up: navarch-$comp exited while waiting for $what; last log lines:" >&2
      tail -20 "$LOG/$comp.log" >&2
      return 1
    fi
    sleep 1
  done
  echo "up: timed out after ${secs}s waiting for $what; last lines of $LOG/$comp.log:" >&2
  tail -20 "$LOG/$comp.log" >&2
  return 1
}

api_ready() { [ -s "$ADMIN" ] && [ "$(navctl get --raw /readyz 2>/dev/null)" = ok ]; }

# stop NAME: TERM, up to 30 s to exit, then KILL; removes the pid file.
stop() {
  local name=$1 f=$RUN/$1.pid pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
    echo "down: stopped navarch-$name"
  fi
  rm -f "$f"
}
