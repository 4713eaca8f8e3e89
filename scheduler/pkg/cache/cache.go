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

// nodeItem is a node of the cache in its recency list.
type nodeItem struct {
	name       string
	info       *framework.NodeInfo
	prev, next *nodeItem
}

// Cache is safe for concurrent use.
type Cache struct {
	mu    sync.RWMutex
	nodes map[string]*nodeItem
	// head is the most recently changed node; the list runs in decreasing
	// NodeInfo.Generation, so UpdateSnapshot visits only what changed since
	// the snapshot's generation instead of every node.
	head        *nodeItem
	podStates   map[types.UID]*podState
	assumedPods map[types.UID]bool
	images      map[string]*imageState
	// removed counts node removals, so snapshots notice deletions.
	removed int64
}

// New returns an empty cache.
func New() *Cache {
	return &Cache{
		nodes:       map[string]*nodeItem{},
		podStates:   map[types.UID]*podState{},
		assumedPods: map[types.UID]bool{},
		images:      map[string]*imageState{},
	}
}

// nodeInfo returns the node's info for a change, creating it if needed,
// and moves it to the head of the recency list: every caller changes it,
// which gives it a new generation.
func (c *Cache) nodeInfo(name string) *framework.NodeInfo {
	it, ok := c.nodes[name]
	if !ok {
		it = &nodeItem{name: name, info: framework.NewNodeInfo()}
		c.nodes[name] = it
	}
	c.moveToHead(it)
	return it.info
}

func (c *Cache) moveToHead(it *nodeItem) {
	if c.head == it {
		return
	}
	c.unlink(it)
	it.next = c.head
	if c.head != nil {
		c.head.prev = it
	}
	c.head = it
}

func (c *Cache) unlink(it *nodeItem) {
	if it.prev != nil {
		it.prev.next = it.next
	}
	if it.next != nil {
		it.next.prev = it.prev
	}
	if c.head == it {
		c.head = it.next
	}
	it.prev, it.next = nil, nil
}

func (c *Cache) deleteNode(name string) {
	if it, ok := c.nodes[name]; ok {
		c.unlink(it)
		delete(c.nodes, name)
		c.removed++
	}
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
	if it, ok := c.nodes[pod.Spec.NodeName]; ok {
		ni := it.info
		ni.RemovePod(pod)
		c.moveToHead(it)
		if len(ni.Pods) == 0 && ni.Node() == nil {
			c.deleteNode(pod.Spec.NodeName)
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
	it, ok := c.nodes[node.Name]
	if !ok {
		return
	}
	ni := it.info
	if old := ni.Node(); old != nil {
		c.removeImagesLocked(old)
	}
	if len(ni.Pods) == 0 {
		c.deleteNode(node.Name)
		return
	}
	ni.RemoveNode()
	c.moveToHead(it)
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
	for _, it := range c.nodes {
		if it.info.Node() != nil {
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
