// Package decisions reads a pod's last scheduling decision from
// navarch-scheduler's HTTP port (GET /debug/decisions/<namespace>/<pod>,
// JSON) for navctl describe pod --show-decision.
//
// How navctl finds the scheduler: the leading navarch-scheduler writes the
// annotation scheduler.navarch.dev/endpoint on its leader-election Lease
// (by default kube-system/kube-scheduler) with its leader identity, the URL
// of its HTTP port and the schedulerName values it serves. navctl lists the
// Leases in kube-system and uses the one whose annotation names the pod's
// spec.schedulerName and whose identity is the Lease's current holder.
// Only the leader schedules, so only it has decisions. A scheduler run
// without leader election writes no Lease: name it with
// --scheduler-address. The JSON below mirrors what the scheduler serves;
// the two are kept in step by the scheduler's integration test, which runs
// navctl against the real scheduler.
package decisions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"navarch.dev/shared/schedulingdecision"
)

// EndpointAnnotation is the Lease annotation the leading scheduler writes.
const EndpointAnnotation = schedulingdecision.EndpointAnnotation

// LeaseNamespace is where navctl looks for scheduler Leases.
const LeaseNamespace = "kube-system"

// Decision and NodeVerdict are the scheduler's wire types.
type (
	Decision    = schedulingdecision.Decision
	NodeVerdict = schedulingdecision.NodeVerdict
)

// ErrNoScheduler is returned by Find when no Lease names a scheduler for
// the pod's schedulerName.
var ErrNoScheduler = errors.New("no scheduler found")

// Find returns the base URL of the scheduler serving schedulerName: address
// if set (host:port or a URL), else the one the Leases in kube-system name.
func Find(ctx context.Context, cs kubernetes.Interface, schedulerName, address string) (string, error) {
	if address != "" {
		return normalize(address)
	}
	leases, err := cs.CoordinationV1().Leases(LeaseNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", fmt.Errorf("find the scheduler for %q: list leases in %s: %w", schedulerName, LeaseNamespace, err)
	}
	stale := ""
	for _, l := range leases.Items {
		raw, ok := l.Annotations[EndpointAnnotation]
		if !ok {
			continue
		}
		var ep schedulingdecision.Endpoint
		if err := json.Unmarshal([]byte(raw), &ep); err != nil || ep.URL == "" {
			continue
		}
		if !slices.Contains(ep.SchedulerNames, schedulerName) {
			continue
		}
		if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != ep.HolderIdentity {
			stale = l.Name
			continue
		}
		return normalize(ep.URL)
	}
	if stale != "" {
		return "", fmt.Errorf("%w for %q: lease %s/%s names a scheduler that no longer leads, and the current leader has not published its endpoint (annotation %s); use --scheduler-address",
			ErrNoScheduler, schedulerName, LeaseNamespace, stale, EndpointAnnotation)
	}
	return "", fmt.Errorf("%w for %q: no lease in %s has an annotation %s naming it (is its navarch-scheduler running, with --leader-elect?); use --scheduler-address",
		ErrNoScheduler, schedulerName, LeaseNamespace, EndpointAnnotation)
}

// normalize turns "host:port" into "http://host:port" and checks a URL.
func normalize(address string) (string, error) {
	if !strings.Contains(address, "://") {
		address = "http://" + address
	}
	u, err := url.Parse(address)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("invalid scheduler address %q: want host:port or http(s)://host:port", address)
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// ErrNoDecision is returned by Get when the scheduler has no decision for
// the pod.
var ErrNoDecision = errors.New("no scheduling decision")

// Get fetches the pod's last decision from the scheduler at base.
func Get(ctx context.Context, base, namespace, pod string) (*Decision, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	u := base + "/debug/decisions/" + url.PathEscape(namespace) + "/" + url.PathEscape(pod)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		// %v, not %w: the error is about the scheduler, and navctl would
		// otherwise word a refused connection as one to the apiserver.
		return nil, fmt.Errorf("the scheduler at %s is not reachable: %v", base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("read decision from scheduler at %s: %w", base, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("%w for pod %s/%s at scheduler %s (it keeps the latest pods' decisions since it started leading)", ErrNoDecision, namespace, pod, base)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("scheduler at %s: GET %s: %s: %s", base, u, resp.Status, strings.TrimSpace(string(body)))
	}
	var d Decision
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, fmt.Errorf("scheduler at %s: decode decision: %w", base, err)
	}
	return &d, nil
}
