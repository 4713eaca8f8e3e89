// Package kubeconfigs issues the kubeconfigs of a cluster's component
// identities — scheduler, controller-manager, each node's kubelet, proxy,
// DNS, admin — each with a client certificate signed by the cluster CA, the
// way kubeadm's kubeconfig phase does. The apiserver's x509 authenticator reads
// the certificate's common name as the user and its organizations as the
// groups.
package kubeconfigs

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"navarch.dev/shared/kubeconfig"
	"navarch.dev/shared/pki"
)

// Identity is who a kubeconfig authenticates as.
type Identity struct {
	// User is the user name, the certificate's common name.
	User string
	// Groups are the user's groups, the certificate's organizations.
	Groups []string
}

// The identities upstream gives the control-plane components.
var (
	Admin             = Identity{User: "kubernetes-admin", Groups: []string{"system:masters"}}
	Scheduler         = Identity{User: "system:kube-scheduler"}
	ControllerManager = Identity{User: "system:kube-controller-manager"}
	Proxy             = Identity{User: "system:kube-proxy"}
	// DNS is the navarch-dns ServiceAccount of the DNS add-on, so the
	// add-on's RBAC binding covers the certificate too.
	DNS = Identity{User: "system:serviceaccount:kube-system:navarch-dns",
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:kube-system"}}
)

// Node is the identity of the kubelet of node name.
func Node(name string) Identity {
	return Identity{User: "system:node:" + name, Groups: []string{"system:nodes"}}
}

// Names lists the identity names Named accepts.
const Names = "admin, scheduler, controller-manager, proxy, dns, node:<node-name>"

// Named returns the identity called name: one of Names.
func Named(name string) (Identity, error) {
	switch name {
	case "admin":
		return Admin, nil
	case "scheduler":
		return Scheduler, nil
	case "controller-manager":
		return ControllerManager, nil
	case "proxy":
		return Proxy, nil
	case "dns":
		return DNS, nil
	}
	if node, ok := strings.CutPrefix(name, "node:"); ok {
		if node == "" || strings.ContainsAny(node, " /:") {
			return Identity{}, fmt.Errorf("kubeconfigs: %q is not a node name", node)
		}
		return Node(node), nil
	}
	return Identity{}, fmt.Errorf("kubeconfigs: unknown identity %q (want one of %s)", name, Names)
}

// renewBefore is how long before its certificate expires a kubeconfig is
// issued again.
const renewBefore = 30 * 24 * time.Hour

// Write makes path a kubeconfig for id against the apiserver at server, with
// a new client certificate signed by ca. A file already there is kept when it
// is for the same server and identity, its certificate was signed by ca and
// stays valid for 30 more days; Write reports whether it wrote the file.
func Write(ca *pki.CA, path, server string, id Identity) (bool, error) {
	if id.User == "" {
		return false, errors.New("kubeconfigs: identity has no user name")
	}
	if server == "" {
		return false, errors.New("kubeconfigs: server URL is empty")
	}
	if current(ca, path, server, id) {
		return false, nil
	}
	certPEM, keyPEM, err := ca.IssueClient(id.User, id.Groups)
	if err != nil {
		return false, fmt.Errorf("kubeconfigs: %s: %w", id.User, err)
	}
	err = kubeconfig.Write(path, kubeconfig.Config{
		Server:   server,
		CAData:   ca.CertPEM,
		CertData: certPEM,
		KeyData:  keyPEM,
		User:     id.User,
		Cluster:  kubeconfig.DefaultCluster,
	})
	if err != nil {
		return false, err
	}
	return true, nil
}

// current reports whether path already holds what Write would write.
func current(ca *pki.CA, path, server string, id Identity) bool {
	if _, err := os.Stat(path); err != nil {
		return false
	}
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return false
	}
	ctx := cfg.Contexts[cfg.CurrentContext]
	if ctx == nil || cfg.Clusters[ctx.Cluster] == nil || cfg.AuthInfos[ctx.AuthInfo] == nil {
		return false
	}
	cluster, auth := cfg.Clusters[ctx.Cluster], cfg.AuthInfos[ctx.AuthInfo]
	if cluster.Server != server || !bytes.Equal(cluster.CertificateAuthorityData, ca.CertPEM) {
		return false
	}
	block, _ := pem.Decode(auth.ClientCertificateData)
	if block == nil {
		return false
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil || time.Now().Add(renewBefore).After(cert.NotAfter) {
		return false
	}
	if cert.Subject.CommonName != id.User || !sameSet(cert.Subject.Organization, id.Groups) {
		return false
	}
	_, err = cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	return err == nil
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	sort.Strings(a)
	sort.Strings(b)
	return slices.Equal(a, b)
}
