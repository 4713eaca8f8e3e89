// Package staticpods runs pods from manifest files (--pod-manifest-path):
// a Source that reads the directory, a merged podworker.Source with the
// API's pods, and mirror pods — read-only API copies of static pods that
// carry the kubernetes.io/config.mirror annotation — when an apiserver is
// reachable. Static pods run without any apiserver.
package staticpods

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"navarch.dev/kubelet/pkg/podworker"
)

// Annotations upstream puts on static and mirror pods.
const (
	AnnotationHash   = "kubernetes.io/config.hash"
	AnnotationSource = "kubernetes.io/config.source"
	AnnotationMirror = "kubernetes.io/config.mirror"
	AnnotationSeen   = "kubernetes.io/config.seen"
)

// Source reads static pods from a directory.
type Source struct {
	dir      string
	nodeName string

	mu    sync.Mutex
	pods  map[string]*v1.Pod // by "namespace/name"
	files map[string]string  // manifest path → pod key
}

// New returns a Source of the manifests in dir for node nodeName.
func New(dir, nodeName string) *Source {
	return &Source{dir: dir, nodeName: nodeName, pods: map[string]*v1.Pod{}, files: map[string]string{}}
}

// Load reads the directory again and returns the keys of pods that were
// added, changed or removed. A manifest that does not parse is skipped
// (with a log line); the pod it held, if any, is kept.
func (s *Source) Load() ([]string, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("read %s: %w", s.dir, err)
	}
	next, files := map[string]*v1.Pod{}, map[string]string{}
	s.mu.Lock()
	old, oldFiles := s.pods, s.files
	s.mu.Unlock()
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") {
			continue
		}
		path := filepath.Join(s.dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			slog.Warn("static pod manifest", "file", path, "err", err)
			continue
		}
		pod, err := s.decode(data)
		if err != nil {
			slog.Warn("static pod manifest", "file", path, "err", err)
			if k, ok := oldFiles[path]; ok && old[k] != nil {
				next[k], files[path] = old[k], k
			}
			continue
		}
		k := pod.Namespace + "/" + pod.Name
		next[k], files[path] = pod, k
	}
	var changed []string
	for k, p := range next {
		if o := old[k]; o == nil || o.UID != p.UID {
			changed = append(changed, k)
		}
	}
	for k := range old {
		if next[k] == nil {
			changed = append(changed, k)
		}
	}
	sort.Strings(changed)
	s.mu.Lock()
	s.pods, s.files = next, files
	s.mu.Unlock()
	return changed, nil
}

// decode parses a manifest (YAML or JSON) into the pod the node runs: named
// <name>-<node>, in "default" unless it says otherwise, bound to this node,
// with a UID that is the hash of its content and node, as upstream.
func (s *Source) decode(data []byte) (*v1.Pod, error) {
	var pod v1.Pod
	if err := yaml.UnmarshalStrict(data, &pod); err != nil {
		if err2 := yaml.Unmarshal(data, &pod); err2 != nil {
			return nil, err
		}
	}
	if pod.Kind != "" && pod.Kind != "Pod" {
		return nil, fmt.Errorf("kind %q is not Pod", pod.Kind)
	}
	if pod.Name == "" {
		return nil, fmt.Errorf("pod has no name")
	}
	if len(pod.Spec.Containers) == 0 {
		return nil, fmt.Errorf("pod %s has no containers", pod.Name)
	}
	h := sha256.New()
	h.Write(data)
	h.Write([]byte(s.nodeName))
	hash := hex.EncodeToString(h.Sum(nil))[:32]
	if pod.Namespace == "" {
		pod.Namespace = v1.NamespaceDefault
	}
	pod.Name = pod.Name + "-" + s.nodeName
	pod.UID = types.UID(hash)
	pod.Spec.NodeName = s.nodeName
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations[AnnotationHash] = hash
	pod.Annotations[AnnotationSource] = "file"
	pod.Annotations[AnnotationSeen] = time.Now().UTC().Format(time.RFC3339Nano)
	// Static pods tolerate every NoExecute taint, as upstream.
	pod.Spec.Tolerations = append(pod.Spec.Tolerations, v1.Toleration{Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute})
	pod.Status = v1.PodStatus{}
	return &pod, nil
}

// Get implements podworker.Source.
func (s *Source) Get(key string) (*v1.Pod, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.pods[key]; p != nil {
		return p.DeepCopy(), nil
	}
	return nil, nil
}

// List implements podworker.Source.
func (s *Source) List() ([]*v1.Pod, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*v1.Pod, 0, len(s.pods))
	for _, p := range s.pods {
		out = append(out, p.DeepCopy())
	}
	return out, nil
}

// IsMirror reports whether an API pod is the mirror of a static pod.
func IsMirror(p *v1.Pod) bool {
	_, ok := p.Annotations[AnnotationMirror]
	return ok
}

// Merged is the pods a node runs: its static pods and the API's pods except
// mirror pods (which stand for static pods and are never run themselves).
// A static pod wins over an API pod of the same name.
type Merged struct {
	Static *Source
	API    podworker.Source // nil without an apiserver
}

var _ podworker.Source = (*Merged)(nil)

// Get implements podworker.Source.
func (m *Merged) Get(key string) (*v1.Pod, error) {
	if p, err := m.Static.Get(key); p != nil || err != nil {
		return p, err
	}
	if m.API == nil {
		return nil, nil
	}
	p, err := m.API.Get(key)
	if p != nil && IsMirror(p) {
		return nil, err
	}
	return p, err
}

// List implements podworker.Source. When the API's pods cannot be listed
// (not synced yet), it returns the static pods together with that error:
// callers that must see every pod (housekeeping) stop at the error, the
// others may use the static pods.
func (m *Merged) List() ([]*v1.Pod, error) {
	out, err := m.Static.List()
	if err != nil || m.API == nil {
		return out, err
	}
	seen := map[string]bool{}
	for _, p := range out {
		seen[p.Namespace+"/"+p.Name] = true
	}
	api, err := m.API.List()
	if err != nil {
		return out, err
	}
	for _, p := range api {
		if !IsMirror(p) && !seen[p.Namespace+"/"+p.Name] {
			out = append(out, p)
		}
	}
	return out, nil
}
