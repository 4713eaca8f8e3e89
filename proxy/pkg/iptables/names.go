package iptables

import (
	"crypto/sha256"
	"encoding/base32"
	"strings"
)

// Chain names in the upstream kube-proxy layout.
const (
	chainServices         = "KUBE-SERVICES"
	chainNodePorts        = "KUBE-NODEPORTS"
	chainExternalServices = "KUBE-EXTERNAL-SERVICES"
	chainForward          = "KUBE-FORWARD"
	chainProxyFirewall    = "KUBE-PROXY-FIREWALL"
	chainPostrouting      = "KUBE-POSTROUTING"
	chainMarkMasq         = "KUBE-MARK-MASQ"
	// chainCanary, an empty chain in the mangle table, is how upstream
	// notices that something (a firewall reload) flushed the tables.
	chainCanary = "KUBE-PROXY-CANARY"
	canaryTable = "mangle"

	prefixSVC = "KUBE-SVC-" // cluster policy chain of a service port
	prefixSVL = "KUBE-SVL-" // local policy chain
	prefixEXT = "KUBE-EXT-" // external traffic chain
	prefixSEP = "KUBE-SEP-" // one endpoint
	prefixFW  = "KUBE-FW-"  // load balancer source ranges
)

// masqMark is the fwmark bit that asks KUBE-POSTROUTING to masquerade.
const masqMark = "0x4000"

// portProtoHash is the 16-character chain suffix upstream derives from a
// service port name ("ns/svc:port"), its lower-case protocol and, for an
// endpoint chain, the endpoint ("ip:port"): base32 of the SHA-256.
func portProtoHash(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "")))
	return base32.StdEncoding.EncodeToString(h[:])[:16]
}

// isServiceChain reports whether a nat chain is one of the per-service
// chains this proxy creates and may delete.
func isServiceChain(name string) bool {
	for _, p := range []string{prefixSVC, prefixSVL, prefixEXT, prefixSEP, prefixFW} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
