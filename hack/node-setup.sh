#!/usr/bin/env bash
# Prepares this machine to run pods: containerd + runc + CNI plugins (and
# iptables, conntrack, iproute2, curl, dig) from Debian, the containerd config
# (local sandbox image, /usr/lib/cni, restricted oom_score_adj), a bridge CNI
# network, a running containerd, and the local images (pause, busybox)
# imported into containerd's k8s.io namespace (hack/lib/images.sh).
#
# Idempotent and meant to run as root; safe to call before every test run.
# Environment:
#   NAVARCH_POD_CIDR   bridge pod range (default 10.88.0.0/16)
#   NAVARCH_LOG        where containerd's log goes (default /var/log/navarch)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH=$PATH:/usr/local/go/bin:/usr/sbin:/sbin

POD_CIDR=${NAVARCH_POD_CIDR:-10.88.0.0/16}
LOG=${NAVARCH_LOG:-/var/log/navarch}
SOCK=/run/containerd/containerd.sock
PAUSE_REF=registry.navarch.local/pause:3.10
BUSYBOX_REF=docker.io/library/busybox:1.36

if [ "$(id -u)" != 0 ]; then
  echo "node-setup: must run as root" >&2
  exit 1
fi

# 1. Packages.
need=()
command -v containerd >/dev/null || need+=(containerd)
command -v runc >/dev/null || need+=(runc)
[ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
command -v iptables >/dev/null || need+=(iptables)
command -v conntrack >/dev/null || need+=(conntrack)
command -v ip >/dev/null || need+=(iproute2)
command -v curl >/dev/null || need+=(curl)
command -v dig >/dev/null || need+=(dnsutils)
if ! dpkg -s busybox-static >/dev/null 2>&1; then need+=(busybox-static); fi
if [ ${#need[@]} -gt 0 ]; then
  echo "node-setup: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# 2. containerd config: the default with the three edits this machine needs.
mkdir -p /etc/containerd "$LOG"
tmpcfg=$(mktemp)
trap 'rm -f "$tmpcfg"' EXIT
containerd config default |
  sed -e "s#^\(\s*\)sandbox_image = .*#\1sandbox_image = \"$PAUSE_REF\"#" \
      -e 's#^\(\s*\)bin_dir = .*#\1bin_dir = "/usr/lib/cni"#' \
      -e 's#^\(\s*\)restrict_oom_score_adj = .*#\1restrict_oom_score_adj = true#' >"$tmpcfg"
cfg_changed=0
if ! cmp -s "$tmpcfg" /etc/containerd/config.toml; then
  cp "$tmpcfg" /etc/containerd/config.toml
  cfg_changed=1
fi

# 3. CNI: one bridge network; containerd reloads this directory by itself.
mkdir -p /etc/cni/net.d
cat >"$tmpcfg" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "navarch",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "navarch0",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$POD_CIDR"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "loopback"}
  ]
}
EOF
if ! cmp -s "$tmpcfg" /etc/cni/net.d/10-navarch.conflist; then
  cp "$tmpcfg" /etc/cni/net.d/10-navarch.conflist
fi

# 4. containerd: no systemd as PID 1 here, so run it in the background.
ctr_ok() { ctr --address "$SOCK" version >/dev/null 2>&1; }
if ctr_ok && [ "$cfg_changed" = 1 ]; then
  echo "node-setup: containerd config changed; restarting containerd"
  pid=$(pgrep -x containerd | head -1 || true)
  if [ -n "$pid" ]; then
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  fi
fi
if ! ctr_ok; then
  echo "node-setup: starting containerd (log $LOG/containerd.log)"
  setsid nohup containerd --config /etc/containerd/config.toml >>"$LOG/containerd.log" 2>&1 </dev/null &
  for i in $(seq 1 100); do
    ctr_ok && break
    if [ "$i" = 100 ]; then
      echo "node-setup: containerd did not come up; last log lines:" >&2
      tail -20 "$LOG/containerd.log" >&2
      exit 1
    fi
    sleep 0.2
  done
fi

# 5. Local images, imported into the k8s.io namespace (hack/lib/images.sh);
# an image already imported with the same content is left alone.
. "$ROOT/hack/lib/images.sh"
work=$(mktemp -d)
trap 'rm -f "$tmpcfg"; rm -rf "$work"' EXIT

# The pause image: a static Go binary that waits for SIGTERM and reaps children.
mkdir -p "$work/pause"
(cd "$ROOT/kubelet" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w -buildid=' -o "$work/pause/pause" ./cmd/navarch-pause)
import_image "$PAUSE_REF" "$work/pause" '{"Entrypoint":["/pause"],"User":"65535:65535"}'

# busybox from Debian's busybox-static, with the applet links, /etc/passwd and
# the usual empty directories.
busybox_rootfs "$work/busybox"
import_image "$BUSYBOX_REF" "$work/busybox" '{"Cmd":["sh"],"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}'

echo "node-setup: containerd ready at $SOCK with $PAUSE_REF and $BUSYBOX_REF"
