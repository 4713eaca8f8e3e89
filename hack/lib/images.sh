# Shell functions that build container images from local files and import
# them into containerd's k8s.io namespace (the one the CRI plugin serves), for
# machines that cannot pull from registries. Source it; it defines functions
# only and changes no shell options.
#
#   import_image REF ROOTFS CONFIG_JSON   one image REF from directory ROOTFS
#   busybox_rootfs DIR                    Debian's busybox-static with applet links
#   copy_with_libs DIR BINARY...          binaries and the shared libraries they load
#
# An image is a docker-archive tar: manifest.json, a config whose
# rootfs.diff_ids names the layer, and the layer tar. Timestamps and owners are
# fixed, so the same inputs give the same image id, and an image already
# imported under REF with that id is left alone (import_image is cheap when
# nothing changed).

# import_image REF ROOTFS CONFIG_JSON
# CONFIG_JSON is the image's "config" object, e.g. '{"Entrypoint":["/pause"]}'.
import_image() {
  local ref=$1 rootfs=$2 cfgfrag=$3 dir diff cfgsha have
  if [ ! -d "$rootfs" ]; then
    echo "import_image: $rootfs is not a directory" >&2
    return 1
  fi
  dir=$(mktemp -d)
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$rootfs" -cf "$dir/layer.tar" . || { rm -rf "$dir"; return 1; }
  diff=$(sha256sum "$dir/layer.tar" | cut -d' ' -f1)
  printf '{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$cfgfrag" "$diff" >"$dir/config.json"
  cfgsha=$(sha256sum "$dir/config.json" | cut -d' ' -f1)
  # Already there when REF and the image id (the CRI plugin adds the config
  # digest as a ref) name the same manifest.
  have=$(ctr -n k8s.io images ls 2>/dev/null |
    awk -v r="$ref" -v id="sha256:$cfgsha" '$1 == r {a = $3} $1 == id {b = $3} END {if (a != "" && a == b) print "yes"}' || true)
  if [ "$have" = yes ]; then
    rm -rf "$dir"
    return 0
  fi
  mv "$dir/config.json" "$dir/$cfgsha.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["layer.tar"]}]' "$cfgsha" "$ref" >"$dir/manifest.json"
  echo "importing image $ref"
  tar -C "$dir" -cf "$dir.tar" manifest.json "$cfgsha.json" layer.tar &&
    ctr -n k8s.io images import "$dir.tar" >/dev/null
  local rc=$?
  rm -rf "$dir" "$dir.tar"
  return $rc
}

# busybox_rootfs DIR: Debian's busybox-static (/bin/busybox) with its applet
# links, /etc/passwd, /etc/group and the usual empty directories.
busybox_rootfs() {
  local bb=$1 applet
  mkdir -p "$bb/bin" "$bb/etc" "$bb/tmp" "$bb/root" "$bb/var/www" "$bb/proc" "$bb/sys" "$bb/dev" "$bb/home"
  chmod 1777 "$bb/tmp"
  cp /bin/busybox "$bb/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$bb/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' >"$bb/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' >"$bb/etc/group"
}

# copy_with_libs DIR BINARY...: copies each binary to the same path under
# DIR, with the shared libraries ldd reports for it (and the dynamic loader),
# so dynamically linked host tools (iptables, conntrack) run in an image.
# Symbolic links are copied as links, with their targets.
copy_with_libs() {
  local root=$1 f lib target
  shift
  for f in "$@"; do
    mkdir -p "$root$(dirname "$f")"
    if [ -L "$f" ]; then
      target=$(readlink -f "$f")
      cp -a "$f" "$root$f"
      copy_with_libs "$root" "$target"
      continue
    fi
    cp -p "$f" "$root$f"
    for lib in $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*'); do
      [ -e "$root$lib" ] && continue
      mkdir -p "$root$(dirname "$lib")"
      cp -pL "$lib" "$root$lib"
    done
  done
}
