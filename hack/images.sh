#!/usr/bin/env bash
# Builds one image per Navarch component from static (CGO_ENABLED=0) binaries
# and imports them into containerd's k8s.io namespace, for static pods and
# add-ons on machines that cannot pull:
#
#   registry.navarch.local/navarch-apiserver:dev           /navarch-apiserver
#   registry.navarch.local/navarch-scheduler:dev           /navarch-scheduler
#   registry.navarch.local/navarch-controller-manager:dev  /navarch-controller-manager
#   registry.navarch.local/navarch-proxy:dev               /navarch-proxy, with iptables and conntrack
#   registry.navarch.local/navarch-dns:dev                 /navarch-dns
#   registry.navarch.local/navarch-etcd:dev                /navarch-etcd (etcd, for manifests/static-pods/etcd.yaml)
#
# The entrypoint of each is its binary; arguments come from the pod spec.
# Also imports the example images: registry.navarch.local/busybox:1.36 (the
# same image as docker.io/library/busybox:1.36 from node-setup.sh) and
# registry.navarch.local/busybox:1.36-rolled (the same rootfs with another
# config, a distinct image to roll a Deployment to).
#
# Idempotent: images whose content did not change are not imported again, and
# go's build cache keeps unchanged binaries quick. Needs a running containerd
# (hack/node-setup.sh). Environment: NAVARCH_IMAGE_TAG (default dev).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH=$PATH:/usr/local/go/bin:/usr/sbin:/sbin
. "$ROOT/hack/lib/images.sh"

REGISTRY=registry.navarch.local
TAG=${NAVARCH_IMAGE_TAG:-dev}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# component_rootfs MODULE BINARY: a rootfs holding the static binary at
# /BINARY, /tmp, and the passwd/group entries for root and nobody.
component_rootfs() {
  local mod=$1 bin=$2 dir=$work/$2
  mkdir -p "$dir/etc" "$dir/tmp"
  chmod 1777 "$dir/tmp"
  (cd "$ROOT/$mod" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w -buildid=' -o "$dir/$bin" "./cmd/$bin")
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n' >"$dir/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' >"$dir/etc/group"
}

for c in apiserver scheduler controller-manager dns; do
  component_rootfs "$c" "navarch-$c"
  import_image "$REGISTRY/navarch-$c:$TAG" "$work/navarch-$c" "{\"Entrypoint\":[\"/navarch-$c\"]}"
done
# etcd itself, from the apiserver module (the etcd release it embeds).
component_rootfs apiserver navarch-etcd
import_image "$REGISTRY/navarch-etcd:$TAG" "$work/navarch-etcd" '{"Entrypoint":["/navarch-etcd"]}'

# The proxy programs iptables and clears conntrack entries: the host's tools
# (both iptables backends) and their libraries go into the image.
component_rootfs proxy navarch-proxy
tools=()
for t in /usr/sbin/xtables-legacy-multi /usr/sbin/xtables-nft-multi /usr/sbin/conntrack \
  /usr/sbin/iptables /usr/sbin/iptables-save /usr/sbin/iptables-restore \
  /usr/sbin/iptables-legacy /usr/sbin/iptables-legacy-save /usr/sbin/iptables-legacy-restore \
  /usr/sbin/iptables-nft /usr/sbin/iptables-nft-save /usr/sbin/iptables-nft-restore \
  /usr/sbin/ip6tables /usr/sbin/ip6tables-save /usr/sbin/ip6tables-restore \
  /usr/sbin/ip6tables-legacy /usr/sbin/ip6tables-legacy-save /usr/sbin/ip6tables-legacy-restore \
  /usr/sbin/ip6tables-nft /usr/sbin/ip6tables-nft-save /usr/sbin/ip6tables-nft-restore; do
  [ -e "$t" ] && tools+=("$t")
done
copy_with_libs "$work/navarch-proxy" "${tools[@]}"
# The xtables extensions are loaded at run time, not listed by ldd.
for d in /usr/lib/x86_64-linux-gnu/xtables /etc/alternatives; do
  if [ -d "$d" ]; then mkdir -p "$work/navarch-proxy$d" && cp -a "$d/." "$work/navarch-proxy$d/"; fi
done
# The alternatives above may point at binaries not copied; drop those links.
find "$work/navarch-proxy/etc/alternatives" -xtype l -delete 2>/dev/null || true
import_image "$REGISTRY/navarch-proxy:$TAG" "$work/navarch-proxy" \
  '{"Entrypoint":["/navarch-proxy"],"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]}'

# Example images.
busybox_rootfs "$work/busybox"
import_image "$REGISTRY/busybox:1.36" "$work/busybox" \
  '{"Cmd":["sh"],"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}'
import_image "$REGISTRY/busybox:1.36-rolled" "$work/busybox" \
  '{"Cmd":["sh"],"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Labels":{"dev.navarch.variant":"rolled"}}'

echo "images: $REGISTRY/navarch-{apiserver,scheduler,controller-manager,proxy,dns,etcd}:$TAG, $REGISTRY/busybox:{1.36,1.36-rolled}"
