#!/usr/bin/env bash
# Prepares this machine to run pods: containerd + runc + CNI plugins from
# Debian, the containerd config (local sandbox image, /usr/lib/cni, restricted
# oom_score_adj), a bridge CNI network, a running containerd, and the local
# images (pause, busybox) imported into containerd's k8s.io namespace.
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

# 5. Local images as docker-archive tars: manifest.json, a config whose
# rootfs.diff_ids names the layer, and the layer tar. Timestamps and owners are
# fixed so the same inputs give the same image, and an image already imported
# with the same layer is left alone.
work=$(mktemp -d)
trap 'rm -f "$tmpcfg"; rm -rf "$work"' EXIT

# import_image REF ROOTFS CONFIG_JSON_FRAGMENT
import_image() {
  local ref=$1 rootfs=$2 cfgfrag=$3 dir
  dir=$(mktemp -d -p "$work")
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$rootfs" -cf "$dir/layer.tar" .
  local diff
  diff=$(sha256sum "$dir/layer.tar" | cut -d' ' -f1)
  printf '{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$cfgfrag" "$diff" >"$dir/config.json"
  local cfgsha
  cfgsha=$(sha256sum "$dir/config.json" | cut -d' ' -f1)
  mv "$dir/config.json" "$dir/$cfgsha.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["layer.tar"]}]' "$cfgsha" "$ref" >"$dir/manifest.json"
  # Captured first: with pipefail, grep -q closing the pipe early fails ctr.
  local have
  have=$(ctr -n k8s.io images ls -q 2>/dev/null || true)
  if grep -qxF "$ref" <<<"$have" && grep -qxF "sha256:$cfgsha" <<<"$have"; then
    return 0
  fi
  echo "node-setup: importing $ref"
  tar -C "$dir" -cf "$dir.tar" manifest.json "$cfgsha.json" layer.tar
  ctr -n k8s.io images import "$dir.tar" >/dev/null
}

# The pause image: a static Go binary that waits for SIGTERM and reaps children.
mkdir -p "$work/pause"
(cd "$ROOT/kubelet" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w -buildid=' -o "$work/pause/pause" ./cmd/navarch-pause)
import_image "$PAUSE_REF" "$work/pause" '{"Entrypoint":["/pause"],"User":"65535:65535"}'

# busybox from Debian's busybox-static, with the applet links, /etc/passwd and
# the usual empty directories.
bb="$work/busybox"
mkdir -p "$bb/bin" "$bb/etc" "$bb/tmp" "$bb/root" "$bb/var/www" "$bb/proc" "$bb/sys" "$bb/dev" "$bb/home"
chmod 1777 "$bb/tmp"
cp /bin/busybox "$bb/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$bb/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' >"$bb/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\n' >"$bb/etc/group"
import_image "$BUSYBOX_REF" "$bb" '{"Cmd":["sh"],"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}'

echo "node-setup: containerd ready at $SOCK with $PAUSE_REF and $BUSYBOX_REF"
