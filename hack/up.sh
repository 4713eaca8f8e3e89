#!/usr/bin/env bash
# Brings up a single-node Navarch cluster on this machine (as root):
#
#   1. node prerequisites: containerd, runc, CNI, iptables (hack/node-setup.sh)
#   2. the component images (hack/images.sh)
#   3. one kubeconfig per component identity under /etc/navarch, each with a
#      client certificate from the cluster CA (navarch-apiserver kubeconfig)
#   4. navarch-apiserver (embedded etcd, state under /var/lib/navarch),
#      controller-manager, scheduler, kubelet and proxy as background
#      processes: logs in /var/log/navarch, pid files in /run/navarch
#   5. the DNS add-on (manifests/addons/dns) on 10.96.0.10
#
# and waits until the node is Ready and DNS answers. Idempotent: components
# already running are left alone, so running it again on a healthy cluster
# changes nothing. hack/down.sh undoes it.
#
# Environment: NAVARCH_NODE_NAME (default: the host name), NAVARCH_NODE_IP
# (default: the address of the default route's interface), NAVARCH_POD_CIDR
# (default 10.244.0.0/16; the node's /24 of it is on bridge cbr0).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/bin
export PATH=$PATH:/usr/local/go/bin:/usr/sbin:/sbin
. "$ROOT/hack/lib/cluster.sh"

if [ "$(id -u)" != 0 ]; then
  echo "up: must run as root (it starts containerd, the kubelet and the proxy)" >&2
  exit 1
fi
for b in navarch-apiserver navarch-controller-manager navarch-scheduler navarch-kubelet navarch-proxy navctl; do
  if [ ! -x "$BIN/$b" ]; then
    echo "up: $BIN/$b is missing: run make build (make up does)" >&2
    exit 1
  fi
done
mkdir -p "$STATE" "$ETC" "$RUN" "$LOG"

# 1 and 2.
NAVARCH_LOG=$LOG hack/node-setup.sh
# The kubelet writes the node's CNI network once the node has its podCIDR
# (kubenet); until then pods wait, as upstream's do for a network.
rm -f /etc/cni/net.d/10-navarch.conflist
hack/images.sh

# 3. Kubeconfigs. The first call creates the cluster CA the apiserver then
# uses; files that are still good are left alone.
kc() { "$BIN/navarch-apiserver" kubeconfig --data-dir "$STATE/apiserver" --server "$2" --out "$ETC/$1.conf" "$3"; }
kc scheduler "$LOCAL_API" scheduler
kc controller-manager "$LOCAL_API" controller-manager
kc kubelet "$LOCAL_API" "node:$NODE_NAME"
kc proxy "$LOCAL_API" proxy
# For navarch-dns run on this host (manifests/systemd/navarch-dns.service)
# rather than as the add-on: it reaches the API through the kubernetes
# Service, as the add-on does.
kc dns "https://10.96.0.1:443" dns

# 4. Daemons.
start apiserver "$BIN/navarch-apiserver" \
  --data-dir "$STATE/apiserver" \
  --admin-kubeconfig "$ADMIN" \
  --advertise-address "$NODE_IP" \
  --secure-port 6443 \
  --service-cluster-ip-range "$SERVICE_CIDR"
wait_for "apiserver /readyz" 120 apiserver api_ready
echo "up: apiserver ready at $LOCAL_API"

start controller-manager "$BIN/navarch-controller-manager" \
  --kubeconfig "$ETC/controller-manager.conf" \
  --root-ca-file "$CLUSTER_CA" \
  --allocate-node-cidrs \
  --cluster-cidr "$POD_CIDR"
start scheduler "$BIN/navarch-scheduler" \
  --kubeconfig "$ETC/scheduler.conf"
# This host has no registry to pull from, so image garbage collection is off
# (the local images could not come back), and the disk eviction thresholds
# are lowered: a build host's Go caches share the disk with the images.
start kubelet "$BIN/navarch-kubelet" \
  --kubeconfig "$ETC/kubelet.conf" \
  --hostname-override "$NODE_NAME" \
  --node-ip "$NODE_IP" \
  --root-dir "$KUBELET_ROOT" \
  --client-ca-file "$CLUSTER_CA" \
  --cluster-dns "$CLUSTER_DNS" \
  --cluster-domain cluster.local \
  --network-plugin kubenet \
  --non-masquerade-cidr "$POD_CIDR" \
  --image-gc-high-threshold 100 \
  --eviction-hard 'memory.available<100Mi,nodefs.available<5%,imagefs.available<5%,nodefs.inodesFree<5%'
start proxy "$BIN/navarch-proxy" \
  --kubeconfig "$ETC/proxy.conf" \
  --hostname-override "$NODE_NAME" \
  --cluster-cidr "$POD_CIDR"

node_ready() { [ "$(navctl get node "$NODE_NAME" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]; }
wait_for "node $NODE_NAME Ready" 120 kubelet node_ready
echo "up: node $NODE_NAME Ready"

# 5. DNS. The add-on authenticates with its service account's token (the
# kube-api-access volume every pod gets), as in-cluster clients do.
navctl apply -f manifests/addons/dns/dns.yaml >/dev/null
dns_ready() { [ -n "$(dig +short +time=1 +tries=1 @"$CLUSTER_DNS" kubernetes.default.svc.cluster.local 2>/dev/null | grep -x '10.96.0.1')" ]; }
wait_for "cluster DNS to answer on $CLUSTER_DNS" 180 proxy dns_ready
echo "up: DNS answers on $CLUSTER_DNS"

home=${HOME:-/root}
if [ ! -e "$home/.kube/config" ]; then
  mkdir -p "$home/.kube"
  cp "$ADMIN" "$home/.kube/config"
  chmod 600 "$home/.kube/config"
fi
cat <<EOF

Navarch is up: node $NODE_NAME ($NODE_IP), API $LOCAL_API, DNS $CLUSTER_DNS.
Logs are in $LOG, pid files in $RUN. Use it with navctl:

  export KUBECONFIG=$ADMIN
  bin/navctl get nodes
  bin/navctl apply -f manifests/examples/httpd.yaml

make down stops it (state stays in $STATE).
EOF
