// Package projected is the projected volume: ConfigMap, Secret, downward
// API and service account token sources merged into one directory, written
// atomically and refreshed while the pod runs.
package projected

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"navarch.dev/kubelet/pkg/volume/atomic"
	"navarch.dev/kubelet/pkg/volume/configmap"
	"navarch.dev/kubelet/pkg/volume/downwardapi"
	"navarch.dev/kubelet/pkg/volume/secret"
)

// Plugin is the projected volume plugin.
type Plugin struct {
	client      kubernetes.Interface
	allocatable v1.ResourceList
	now         func() time.Time

	mu     sync.Mutex
	tokens map[string]token // by "<pod uid>/<path>"
}

type token struct {
	value   []byte
	renewAt time.Time
}

// New returns the plugin.
func New(client kubernetes.Interface, allocatable v1.ResourceList) *Plugin {
	return &Plugin{client: client, allocatable: allocatable, now: time.Now, tokens: map[string]token{}}
}

func (p *Plugin) Name() string                 { return "kubernetes.io~projected" }
func (p *Plugin) CanSupport(v *v1.Volume) bool { return v.Projected != nil }

// SetUp writes every source into dir.
func (p *Plugin) SetUp(ctx context.Context, pod *v1.Pod, v *v1.Volume, dir string) (string, error) {
	m := int32(0o644)
	if v.Projected.DefaultMode != nil {
		m = *v.Projected.DefaultMode
	}
	payload := map[string]atomic.File{}
	add := func(files map[string]atomic.File) {
		for k, f := range files {
			payload[k] = f
		}
	}
	for _, s := range v.Projected.Sources {
		switch {
		case s.ConfigMap != nil:
			files, err := configmap.Payload(ctx, p.client, pod.Namespace, s.ConfigMap.Name, s.ConfigMap.Items, s.ConfigMap.Optional, m)
			if err != nil {
				return "", err
			}
			add(files)
		case s.Secret != nil:
			files, err := secret.Payload(ctx, p.client, pod.Namespace, s.Secret.Name, s.Secret.Items, s.Secret.Optional, m)
			if err != nil {
				return "", err
			}
			add(files)
		case s.DownwardAPI != nil:
			files, err := downwardapi.Payload(pod, s.DownwardAPI.Items, m, p.allocatable)
			if err != nil {
				return "", err
			}
			add(files)
		case s.ServiceAccountToken != nil:
			tok, err := p.token(ctx, pod, s.ServiceAccountToken)
			if err != nil {
				return "", err
			}
			if tok != nil {
				payload[s.ServiceAccountToken.Path] = atomic.File{Data: tok, Mode: os.FileMode(m) & os.ModePerm}
			}
		}
	}
	if _, err := atomic.Write(dir, payload); err != nil {
		return "", err
	}
	return dir, nil
}

// maxTokenAge is how long a token is used at most before a new one is
// requested, as upstream's kubelet does.
const maxTokenAge = 24 * time.Hour

// token returns a bound service account token for the pod, asking the
// apiserver's serviceaccounts/token subresource again once 80% of its life
// (or 24 hours) has passed. If the apiserver does not serve that subresource, the token
// is left out (nil) and the other sources are still projected.
func (p *Plugin) token(ctx context.Context, pod *v1.Pod, src *v1.ServiceAccountTokenProjection) ([]byte, error) {
	k := string(pod.UID) + "/" + src.Path
	p.mu.Lock()
	cur, ok := p.tokens[k]
	p.mu.Unlock()
	if ok && p.now().Before(cur.renewAt) {
		return cur.value, nil
	}
	if p.client == nil {
		return nil, fmt.Errorf("service account token: no API client")
	}
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	exp := int64(3600)
	if src.ExpirationSeconds != nil {
		exp = *src.ExpirationSeconds
	}
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: &exp,
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}}
	if src.Audience != "" {
		req.Spec.Audiences = []string{src.Audience}
	}
	resp, err := p.client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, req, metav1.CreateOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
		if ok {
			return cur.value, nil
		}
		slog.Warn("apiserver serves no serviceaccounts/token; projecting the volume without the token",
			"pod", pod.Namespace+"/"+pod.Name, "serviceAccount", sa, "err", err)
		return nil, nil
	}
	if err != nil {
		if ok {
			return cur.value, nil
		}
		return nil, fmt.Errorf("service account token for %s: %w", sa, err)
	}
	life := time.Duration(exp) * time.Second
	if resp.Status.ExpirationTimestamp.After(p.now()) {
		life = resp.Status.ExpirationTimestamp.Sub(p.now())
	}
	// Renewed at 80% of its life, and at least daily (an apiserver may
	// hand out tokens valid far longer than asked).
	t := token{value: []byte(resp.Status.Token), renewAt: p.now().Add(min(life*8/10, maxTokenAge))}
	p.mu.Lock()
	p.tokens[k] = t
	p.mu.Unlock()
	return t.value, nil
}

// TearDown has nothing to release.
func (p *Plugin) TearDown(string) error { return nil }
