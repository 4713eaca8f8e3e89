package decisions

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"navarch.dev/shared/schedulingdecision"
)

// EndpointAnnotation and Endpoint: see navarch.dev/shared/schedulingdecision.
const EndpointAnnotation = schedulingdecision.EndpointAnnotation

// Endpoint says where a scheduler serves /debug/decisions.
type Endpoint = schedulingdecision.Endpoint

// AdvertiseURL returns the URL clients should use for a server listening on
// listenAddr. A listener on a specific IP advertises that IP; one on all
// addresses (0.0.0.0, ::) advertises the local address this host uses to
// reach apiserverHost (the host of the apiserver URL), as that is the
// address on the network the control plane shares.
func AdvertiseURL(listenAddr net.Addr, apiserverHost string) (string, error) {
	tcp, ok := listenAddr.(*net.TCPAddr)
	if !ok {
		return "", fmt.Errorf("decisions: advertise: %v is not a TCP address", listenAddr)
	}
	ip := tcp.IP
	if ip == nil || ip.IsUnspecified() {
		local, err := routeSource(apiserverHost)
		if err != nil {
			return "", err
		}
		ip = local
	}
	return "http://" + net.JoinHostPort(ip.String(), strconv.Itoa(tcp.Port)), nil
}

// routeSource is the local IP the kernel picks to reach host. Connecting a
// UDP socket sends nothing; it only resolves the route.
func routeSource(host string) (net.IP, error) {
	h := host
	if u, err := url.Parse(host); err == nil && u.Host != "" {
		h = u.Host
	}
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	if h == "" {
		return nil, fmt.Errorf("decisions: advertise: no apiserver host in %q", host)
	}
	conn, err := net.Dial("udp", net.JoinHostPort(h, "443"))
	if err != nil {
		return nil, fmt.Errorf("decisions: advertise: find local address towards %s: %w", h, err)
	}
	defer conn.Close()
	return conn.LocalAddr().(*net.UDPAddr).IP, nil
}

// Advertise writes ep as EndpointAnnotation on the Lease namespace/name,
// retrying until it succeeds or ctx ends. Call it once this scheduler
// leads. It reads and updates the Lease (the get and update upstream's
// system:kube-scheduler role grants on it); the leader elector's next
// renewal then finds the Lease changed, re-reads it and keeps the
// annotation. onRetry, if set, is told of each failed attempt.
func Advertise(ctx context.Context, client kubernetes.Interface, namespace, name string, ep Endpoint, onRetry func(error)) error {
	value, err := json.Marshal(ep)
	if err != nil {
		return err
	}
	leases := client.CoordinationV1().Leases(namespace)
	delay := 200 * time.Millisecond
	for {
		err = func() error {
			l, err := leases.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != ep.HolderIdentity {
				return fmt.Errorf("lease %s/%s is held by %v, not %s", namespace, name, ptrString(l.Spec.HolderIdentity), ep.HolderIdentity)
			}
			if l.Annotations[EndpointAnnotation] == string(value) {
				return nil
			}
			l = l.DeepCopy()
			if l.Annotations == nil {
				l.Annotations = map[string]string{}
			}
			l.Annotations[EndpointAnnotation] = string(value)
			_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
			return err
		}()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("decisions: advertise on lease %s/%s: %w", namespace, name, err)
		}
		if onRetry != nil {
			onRetry(err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("decisions: advertise on lease %s/%s: %w", namespace, name, err)
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
}

func ptrString(p *string) string {
	if p == nil {
		return "nobody"
	}
	return *p
}
