#!/usr/bin/env bash
# Installs Navarch on a bare-metal host (Debian-like, systemd, containerd)
# for one role:
#
#   control-plane         the apiserver (embedded etcd), scheduler and
#                         controller-manager as systemd units, plus the
#                         kubelet and proxy
#   control-plane-static  the kubelet and proxy as units; the kubelet runs the
#                         etcd member, apiserver, scheduler and
#                         controller-manager as static pods from
#                         /etc/navarch/manifests (images: hack/images.sh)
#   worker                the kubelet and proxy as units; copy kubelet.conf,
#                         proxy.conf and pki/ca.crt from the control plane
#
# It copies the binaries to /usr/local/bin, the units to /etc/systemd/system,
# the environment files to /etc/navarch (an existing one is never
# overwritten: it holds the host's settings), the static pod manifests to
# /etc/navarch/manifests (likewise kept when present), and on control-plane
# hosts generates the cluster CA and one kubeconfig per component identity
# when they are missing. Then it enables the role's units and, where systemd
# runs as PID 1, starts them (`systemctl daemon-reload`, `enable --now`).
#
# Usage: hack/install.sh [options] ROLE
#   --root DIR        install under DIR instead of / (like DESTDIR); units
#                     are enabled offline there and nothing is started
#   --bin-dir DIR     where the built binaries are (default: bin/ of this
#                     checkout, from `make build`)
#   --apiserver URL   the apiserver the kubeconfigs name
#                     (default https://127.0.0.1:6443)
#   --node-name NAME  this node's name, for the kubelet's identity
#                     system:node:NAME (default: the hostname, lower-cased)
#   --images          control-plane-static: build and import the component
#                     images into containerd (runs hack/images.sh)
#   --no-start        enable the units but do not start them
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)

usage() { sed -n '/^# Usage:/,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; }
die() { echo "install: $*" >&2; exit 1; }

ROOT=/
BIN_DIR=$SRC/bin
APISERVER=https://127.0.0.1:6443
NODE_NAME=
IMAGES=0
START=1
ROLE=
while [ $# -gt 0 ]; do
  case $1 in
    --root) [ $# -ge 2 ] || die "--root needs a directory"; ROOT=$2; shift 2 ;;
    --root=*) ROOT=${1#*=}; shift ;;
    --bin-dir) [ $# -ge 2 ] || die "--bin-dir needs a directory"; BIN_DIR=$2; shift 2 ;;
    --bin-dir=*) BIN_DIR=${1#*=}; shift ;;
    --apiserver) [ $# -ge 2 ] || die "--apiserver needs a URL"; APISERVER=$2; shift 2 ;;
    --apiserver=*) APISERVER=${1#*=}; shift ;;
    --node-name) [ $# -ge 2 ] || die "--node-name needs a name"; NODE_NAME=$2; shift 2 ;;
    --node-name=*) NODE_NAME=${1#*=}; shift ;;
    --images) IMAGES=1; shift ;;
    --no-start) START=0; shift ;;
    -h|--help) usage 2>&1; exit 0 ;;
    -*) usage; die "unknown option $1" ;;
    *) [ -z "$ROLE" ] || die "one role only (got $ROLE and $1)"; ROLE=$1; shift ;;
  esac
done

case $ROLE in
  control-plane)
    binaries=(navarch-apiserver navarch-scheduler navarch-controller-manager navarch-kubelet navarch-proxy navarch-dns navctl)
    units=(navarch-apiserver navarch-scheduler navarch-controller-manager navarch-kubelet navarch-proxy navarch-dns)
    enable=(navarch-apiserver navarch-scheduler navarch-controller-manager navarch-kubelet navarch-proxy)
    static=0 pki=1 ;;
  control-plane-static)
    binaries=(navarch-kubelet navarch-proxy navctl)
    units=(navarch-kubelet navarch-proxy)
    enable=(navarch-kubelet navarch-proxy)
    static=1 pki=1 ;;
  worker)
    binaries=(navarch-kubelet navarch-proxy)
    units=(navarch-kubelet navarch-proxy)
    enable=(navarch-kubelet navarch-proxy)
    static=0 pki=0 ;;
  "") usage; die "no role given: control-plane, control-plane-static or worker" ;;
  *) usage; die "unknown role \"$ROLE\": want control-plane, control-plane-static or worker" ;;
esac
case $APISERVER in https://*) ;; *) die "--apiserver $APISERVER: want an https:// URL" ;; esac

[ -d "$ROOT" ] || die "--root $ROOT is not a directory"
ROOT=$(cd "$ROOT" && pwd)
R=${ROOT%/}
if [ "$R" = "" ] && [ "$(id -u)" != 0 ]; then
  die "installing into / needs root (or use --root DIR)"
fi

missing=()
for b in "${binaries[@]}"; do [ -x "$BIN_DIR/$b" ] || missing+=("$b"); done
if [ ${#missing[@]} -gt 0 ]; then
  die "missing in $BIN_DIR: ${missing[*]} (run \`make build\` first, or pass --bin-dir)"
fi

echo "install: role $ROLE into ${ROOT}"
install -d -m 0755 "$R/usr/local/bin" "$R/etc/systemd/system" "$R/etc/navarch" "$R/etc/navarch/manifests" "$R/var/lib/navarch"
install -d -m 0700 "$R/etc/navarch/pki"

# Binaries: always replaced (a new build is the point of installing again).
for b in "${binaries[@]}"; do
  install -m 0755 "$BIN_DIR/$b" "$R/usr/local/bin/$b.tmp"
  mv -f "$R/usr/local/bin/$b.tmp" "$R/usr/local/bin/$b"
done
echo "install: binaries ${binaries[*]} -> /usr/local/bin"

# Units: ours, replaced. Environment files: the host's, kept.
for u in "${units[@]}"; do
  install -m 0644 "$SRC/manifests/systemd/$u.service" "$R/etc/systemd/system/$u.service"
  env=${u#navarch-}.env
  if [ -e "$R/etc/navarch/$env" ]; then
    echo "install: kept /etc/navarch/$env (compare with manifests/systemd/env/$env)"
  else
    install -m 0644 "$SRC/manifests/systemd/env/$env" "$R/etc/navarch/$env"
    echo "install: wrote /etc/navarch/$env"
  fi
done
echo "install: units ${units[*]/%/.service} -> /etc/systemd/system"

if [ "$static" = 1 ]; then
  for m in "$SRC"/manifests/static-pods/*.yaml; do
    name=$(basename "$m")
    if [ -e "$R/etc/navarch/manifests/$name" ]; then
      echo "install: kept /etc/navarch/manifests/$name"
    else
      install -m 0644 "$m" "$R/etc/navarch/manifests/$name"
      echo "install: wrote /etc/navarch/manifests/$name"
    fi
  done
fi

# PKI: the cluster CA (which the apiserver also uses and would otherwise
# generate at its first start; the controller-manager's unit and static pod
# publish its ca.crt to pods with --root-ca-file) and a client certificate
# and kubeconfig per component identity, each made only when missing.
if [ "$pki" = 1 ]; then
  command -v openssl >/dev/null || die "openssl is needed to generate the PKI (apt-get install openssl)"
  pkidir=$R/etc/navarch/pki
  if [ ! -e "$pkidir/ca.crt" ] && [ ! -e "$pkidir/ca.key" ]; then
    (umask 077 && openssl ecparam -name prime256v1 -genkey -noout -out "$pkidir/ca.key")
    openssl req -x509 -new -key "$pkidir/ca.key" -sha256 -days 3650 -subj "/CN=navarch-ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
      -out "$pkidir/ca.crt" 2>/dev/null
    chmod 0644 "$pkidir/ca.crt"
    echo "install: generated the cluster CA /etc/navarch/pki/ca.crt"
  elif [ ! -e "$pkidir/ca.crt" ] || [ ! -e "$pkidir/ca.key" ]; then
    die "/etc/navarch/pki holds only one of ca.crt and ca.key; restore the other or remove both"
  fi
  node=${NODE_NAME:-$(hostname)}
  node=$(tr '[:upper:]' '[:lower:]' <<<"$node")
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # kubeconfig FILE USER [ORG]: a client certificate for USER (group ORG)
  # signed by the CA, inlined in a kubeconfig naming $APISERVER.
  kubeconfig() {
    local file=$1 user=$2 org=${3:-} subj
    if [ -e "$R/etc/navarch/$file" ]; then
      echo "install: kept /etc/navarch/$file"
      return 0
    fi
    subj="/CN=$user"
    [ -z "$org" ] || subj="/O=$org$subj"
    openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt -out "$tmp/key.pem"
    openssl req -new -key "$tmp/key.pem" -subj "$subj" -out "$tmp/req.csr"
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' >"$tmp/ext"
    openssl x509 -req -in "$tmp/req.csr" -CA "$pkidir/ca.crt" -CAkey "$pkidir/ca.key" -CAcreateserial \
      -CAserial "$tmp/ca.srl" -days 365 -sha256 -extfile "$tmp/ext" -out "$tmp/cert.pem" 2>/dev/null
    (umask 077 && cat >"$R/etc/navarch/$file.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: navarch
  cluster:
    server: $APISERVER
    certificate-authority-data: $(base64 -w0 <"$pkidir/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 <"$tmp/cert.pem")
    client-key-data: $(base64 -w0 <"$tmp/key.pem")
contexts:
- name: $user@navarch
  context:
    cluster: navarch
    user: $user
current-context: $user@navarch
EOF
    )
    mv -f "$R/etc/navarch/$file.tmp" "$R/etc/navarch/$file"
    echo "install: wrote /etc/navarch/$file ($user)"
  }
  kubeconfig admin.conf kubernetes-admin system:masters
  kubeconfig scheduler.conf system:kube-scheduler
  kubeconfig controller-manager.conf system:kube-controller-manager
  kubeconfig kubelet.conf "system:node:$node" system:nodes
  kubeconfig proxy.conf system:kube-proxy
  [ "$ROLE" != control-plane ] || kubeconfig dns.conf system:navarch-dns
else
  for f in kubelet.conf proxy.conf pki/ca.crt; do
    [ -e "$R/etc/navarch/$f" ] || echo "install: copy /etc/navarch/$f from the control plane before starting the units"
  done
fi

if [ "$IMAGES" = 1 ]; then
  [ "$R" = "" ] || die "--images imports into this host's containerd; it does not go with --root"
  "$SRC/hack/images.sh"
fi

# systemd: enable for boot; start only where systemd is PID 1 (sd_booted:
# /run/systemd/system exists) and the install is for this host.
if ! command -v systemctl >/dev/null; then
  echo "install: systemctl not found: units installed, not enabled"
elif [ "$R" != "" ]; then
  systemctl --root="$ROOT" --quiet enable "${enable[@]/%/.service}"
  echo "install: enabled ${enable[*]} under $ROOT (offline); nothing started"
elif [ ! -d /run/systemd/system ]; then
  systemctl --quiet enable "${enable[@]/%/.service}"
  echo "install: systemd is not running as PID 1 here ($(cat /proc/1/comm 2>/dev/null || echo unknown)):"
  echo "install: enabled ${enable[*]} for the next boot, started nothing"
else
  systemctl daemon-reload
  if [ "$START" = 1 ]; then
    systemctl enable --now "${enable[@]/%/.service}"
    echo "install: enabled and started ${enable[*]}"
  else
    systemctl enable "${enable[@]/%/.service}"
    echo "install: enabled ${enable[*]} (--no-start)"
  fi
fi
if [ "$ROLE" = control-plane ]; then
  echo "install: cluster DNS runs as the add-on (manifests/addons/dns); for DNS on this host: systemctl enable --now navarch-dns"
fi
if [ "$ROLE" = control-plane-static ] && [ "$IMAGES" = 0 ]; then
  echo "install: the static pods need registry.navarch.local/navarch-{etcd,apiserver,scheduler,controller-manager}:dev in containerd: run hack/images.sh (or pass --images)"
fi
