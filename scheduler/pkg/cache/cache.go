// Package cache keeps the scheduler's view of the cluster: every node with
// the pods counted on it, including pods the scheduler has assumed onto a
// node before their binding is visible in the API. Each cycle reads an
// incremental Snapshot of it.
package cache

import (
	"errors"
	"fmt"
	"sync"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"navarch.dev/scheduler/pkg/framework"
)

// ErrNodeNotFound is returned for nodes the cache does not hold.
var ErrNodeNotFound = errors.New("cache: node not found")

type podState struct {
	pod *v1.Pod
	// bindingFinished is set once the bind call returned; until then the
	// assumed pod must not be expired.
	bindingFinished bool
}

type imageState struct {
	size  int64
	nodes map[string]bool
}

// Cache is safe for concurrent use.
type Cache struct {
	mu          sync.RWMutex
	nodes       map[string]*framework.NodeInfo
	podStates   map[types.UID]*podState
	assumedPods map[types.UID]bool
	images      map[string]*imageState
	// removed counts node removals, so snapshots notice deletions.
	removed int64
}

// New returns an empty cache.
func New() *Cache {
	return &Cache{
		nodes:       map[string]*framework.NodeInfo{},
		podStates:   map[types.UID]*podState{},
		assumedPods: map[types.UID]bool{},
		images:      map[string]*imageState{},
	}
}

func (c *Cache) nodeInfo(name string) *framework.NodeInfo {
	ni, ok := c.nodes[name]
	if !ok {
		ni = framework.NewNodeInfo()
		c.nodes[name] = ni
	}
	return ni
}

// AssumePod counts pod (whose Spec.NodeName is set) on its node before
// the binding lands.
func (c *Cache) AssumePod(pod *v1.Pod) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.podStates[pod.UID]; ok {
		return fmt.Errorf("cache: pod %s/%s is in the cache, so can't be assumed", pod.Namespace, pod.Name)
	}
	c.nodeInfo(pod.Spec.NodeName).AddPod(pod)
	c.podStates[pod.UID] = &podState{pod: pod}
	c.assumedPods[pod.UID] = true
	return nil
}

// FinishBinding records that the bind call for an assumed pod returned.
func (c *Cache) FinishBinding(pod *v1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps, ok := c.podStates[pod.UID]; ok && c.assumedPods[pod.UID] {
		ps.bindingFinished = true
	}
}

// ForgetPod uncounts an assumed pod whose binding failed.
func (c *Cache) ForgetPod(pod *v1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, ok := c.podStates[pod.UID]
	if !ok || !c.assumedPods[pod.UID] {
		return
	}
	c.removePodLocked(ps.pod)
}

func (c *Cache) removePodLocked(pod *v1.Pod) {
	if ni, ok := c.nodes[pod.Spec.NodeName]; ok {
		ni.RemovePod(pod)
		if len(ni.Pods) == 0 && ni.Node() == nil {
			delete(c.nodes, pod.Spec.NodeName)
			c.removed++
		}
	}
	delete(c.podStates, pod.UID)
	delete(c.assumedPods, pod.UID)
}

// AddPod counts a bound pod seen in the API; an assumed pod is confirmed
// (and moved, should it have been bound elsewhere).
func (c *Cache) AddPod(pod *v1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps, ok := c.podStates[pod.UID]; ok {
		c.removePodLocked(ps.pod)
	}
	c.nodeInfo(pod.Spec.NodeName).AddPod(pod)
	c.podStates[pod.UID] = &podState{pod: pod, bindingFinished: true}
}

// UpdatePod replaces a bound pod.
func (c *Cache) UpdatePod(_, pod *v1.Pod) { c.AddPod(pod) }

// RemovePod uncounts a pod.
func (c *Cache) RemovePod(pod *v1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps, ok := c.podStates[pod.UID]; ok {
		c.removePodLocked(ps.pod)
	}
}

// IsAssumedPod reports whether pod is assumed and not yet confirmed.
func (c *Cache) IsAssumedPod(pod *v1.Pod) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.assumedPods[pod.UID]
}

// GetPod returns the cached copy of pod, or nil.
func (c *Cache) GetPod(pod *v1.Pod) *v1.Pod {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if ps, ok := c.podStates[pod.UID]; ok {
		return ps.pod
	}
	return nil
}

// AddNode adds or updates a node.
func (c *Cache) AddNode(node *v1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ni := c.nodeInfo(node.Name)
	if old := ni.Node(); old != nil {
		c.removeImagesLocked(old)
	}
	c.addImagesLocked(node)
	ni.SetNode(node)
	ni.ImageStates = c.imageSummariesLocked(node)
}

// UpdateNode replaces a node.
func (c *Cache) UpdateNode(_, node *v1.Node) { c.AddNode(node) }

// RemoveNode drops a node; its pods stay counted until they are deleted.
func (c *Cache) RemoveNode(node *v1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ni, ok := c.nodes[node.Name]
	if !ok {
		return
	}
	if old := ni.Node(); old != nil {
		c.removeImagesLocked(old)
	}
	if len(ni.Pods) == 0 {
		delete(c.nodes, node.Name)
	} else {
		ni.RemoveNode()
	}
	c.removed++
}

func (c *Cache) addImagesLocked(node *v1.Node) {
	for _, img := range node.Status.Images {
		for _, name := range img.Names {
			st, ok := c.images[name]
			if !ok {
				st = &imageState{size: img.SizeBytes, nodes: map[string]bool{}}
				c.images[name] = st
			}
			st.nodes[node.Name] = true
		}
	}
}

func (c *Cache) removeImagesLocked(node *v1.Node) {
	for _, img := range node.Status.Images {
		for _, name := range img.Names {
			if st, ok := c.images[name]; ok {
				delete(st.nodes, node.Name)
				if len(st.nodes) == 0 {
					delete(c.images, name)
				}
			}
		}
	}
}

// imageSummariesLocked reports the node's images with their spread at the
// time the node was last updated (as upstream does, spread is refreshed
// only with the node).
func (c *Cache) imageSummariesLocked(node *v1.Node) map[string]*framework.ImageStateSummary {
	out := map[string]*framework.ImageStateSummary{}
	for _, img := range node.Status.Images {
		for _, name := range img.Names {
			if st, ok := c.images[name]; ok {
				out[name] = &framework.ImageStateSummary{Size: st.size, NumNodes: len(st.nodes)}
			}
		}
	}
	return out
}

// NodeCount returns the number of nodes known with their Node object.
func (c *Cache) NodeCount() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n := 0
	for _, ni := range c.nodes {
		if ni.Node() != nil {
			n++
		}
	}
	return n
}

// PodCount returns the number of pods counted (bound and assumed).
func (c *Cache) PodCount() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.podStates)
}
