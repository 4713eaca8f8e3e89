#!/usr/bin/env bash
# Stops the cluster hack/up.sh started and removes what it made on the host:
# the pods (the kubelet stops them: containers, sandboxes, CNI interfaces,
# volume mounts), the proxy's iptables chains and the kubelet's masquerade
# chain, the CNI bridge, the kubelet's
# leftover mounts, the processes and their pid files.
#
# Kept: the cluster's state (etcd data, PKI, kubeconfigs) under
# /var/lib/navarch and /etc/navarch, so the next `make up` brings back the
# same cluster and its objects (controllers recreate the pods); logs in
# /var/log/navarch; containerd and the images. NAVARCH_PURGE=1 also removes
# the state, so the next `make up` starts a new cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/bin
export PATH=$PATH:/usr/local/go/bin:/usr/sbin:/sbin
. "$ROOT/hack/lib/cluster.sh"

if [ "$(id -u)" != 0 ]; then
  echo "down: must run as root" >&2
  exit 1
fi

# Containers this node's kubelet made carry its node-name label (other
# kubelets sharing this containerd, as node tests do, are left alone).
ours() { ctr -n k8s.io containers ls -q "labels.\"navarch.dev/node-name\"==$NODE_NAME" 2>/dev/null || true; }

# 1. Nothing new gets made: stop the controllers and the scheduler.
stop controller-manager
stop scheduler

# 2. The kubelet tears the pods down the way it does for any deleted pod.
if running apiserver && running kubelet && api_ready; then
  navctl delete pods --all-namespaces --all --field-selector "spec.nodeName=$NODE_NAME" \
    --grace-period=2 --wait=false >/dev/null 2>&1 || true
  for _ in $(seq 1 90); do
    [ -z "$(ours)" ] && break
    sleep 1
  done
  [ -z "$(ours)" ] || echo "down: the kubelet left containers behind; removing them" >&2
fi

# 3. The node agents, then the API.
stop kubelet
stop proxy
"$BIN/navarch-proxy" --cleanup >/dev/null 2>&1 || echo "down: navarch-proxy --cleanup failed" >&2
stop apiserver
# The kubelet's pod masquerade rule (kubenet).
for ipt in iptables-nft iptables-legacy; do
  command -v $ipt >/dev/null || continue
  while $ipt -t nat -D POSTROUTING -m comment --comment "navarch pod masquerade" -j NAVARCH-POD-MASQ 2>/dev/null; do :; done
  if $ipt -t nat -S NAVARCH-POD-MASQ >/dev/null 2>&1; then
    $ipt -t nat -F NAVARCH-POD-MASQ && $ipt -t nat -X NAVARCH-POD-MASQ
  fi
done

# 4. What the kubelet did not get to: its containers (and their tasks), the
# mounts under its root, the bridge once no interface is left on it.
for c in $(ours); do
  ctr -n k8s.io tasks kill -s SIGKILL "$c" >/dev/null 2>&1 || true
  ctr -n k8s.io tasks delete -f "$c" >/dev/null 2>&1 || true
  ctr -n k8s.io containers delete "$c" >/dev/null 2>&1 || true
done
awk -v root="$KUBELET_ROOT/" 'index($2, root) == 1 {print $2}' /proc/self/mounts | sort -r | while read -r m; do
  umount "$m" 2>/dev/null || umount -l "$m" || true
done
for br in "$POD_BRIDGE" navarch0; do
  ip link show "$br" >/dev/null 2>&1 || continue
  if [ -z "$(ip -o link show master "$br" 2>/dev/null)" ]; then
    ip link delete "$br"
    echo "down: removed the CNI bridge $br"
  else
    echo "down: $br kept: other pods on this host still use it"
  fi
done
# The CNI network the kubelet wrote for this node (hack/node-setup.sh
# writes its own again when it runs).
if grep -q "\"$POD_BRIDGE\"" /etc/cni/net.d/10-navarch.conflist 2>/dev/null; then
  rm -f /etc/cni/net.d/10-navarch.conflist
fi
rm -rf "$RUN"

if [ "${NAVARCH_PURGE:-0}" = 1 ]; then
  # The copy up.sh made of the admin kubeconfig would name a CA that is gone.
  if [ -f "$ADMIN" ] && cmp -s "$ADMIN" "${HOME:-/root}/.kube/config"; then
    rm -f "${HOME:-/root}/.kube/config"
  fi
  rm -rf "$STATE" "$ETC"
  echo "down: removed $STATE and $ETC"
fi
echo "down: Navarch stopped"
