package cache

import (
	"fmt"
	"slices"

	"navarch.dev/scheduler/pkg/framework"
)

// Snapshot is a cycle's consistent, read-only view of the cache. It is
// updated in place by Cache.UpdateSnapshot, copying only the nodes that
// changed since the last update.
type Snapshot struct {
	nodeInfoMap      map[string]*framework.NodeInfo
	nodeInfoList     []*framework.NodeInfo
	withAffinity     []*framework.NodeInfo
	withAntiAffinity []*framework.NodeInfo
	generation       int64
	removed          int64
}

var _ framework.NodeInfoLister = (*Snapshot)(nil)

// NewEmptySnapshot returns a snapshot to pass to UpdateSnapshot.
func NewEmptySnapshot() *Snapshot {
	return &Snapshot{nodeInfoMap: map[string]*framework.NodeInfo{}}
}

// NewSnapshot builds a snapshot from node infos directly (for tests).
func NewSnapshot(infos ...*framework.NodeInfo) *Snapshot {
	s := NewEmptySnapshot()
	for _, ni := range infos {
		s.nodeInfoMap[ni.NodeName()] = ni
	}
	s.rebuildLists()
	return s
}

// List implements framework.NodeInfoLister.
func (s *Snapshot) List() []*framework.NodeInfo { return s.nodeInfoList }

// HavePodsWithAffinityList implements framework.NodeInfoLister.
func (s *Snapshot) HavePodsWithAffinityList() []*framework.NodeInfo { return s.withAffinity }

// HavePodsWithRequiredAntiAffinityList implements framework.NodeInfoLister.
func (s *Snapshot) HavePodsWithRequiredAntiAffinityList() []*framework.NodeInfo {
	return s.withAntiAffinity
}

// Get implements framework.NodeInfoLister.
func (s *Snapshot) Get(name string) (*framework.NodeInfo, error) {
	if ni, ok := s.nodeInfoMap[name]; ok && ni.Node() != nil {
		return ni, nil
	}
	return nil, fmt.Errorf("nodeinfo not found for node name %q", name)
}

// NumNodes returns the number of nodes in the snapshot.
func (s *Snapshot) NumNodes() int { return len(s.nodeInfoList) }

func (s *Snapshot) rebuildLists() {
	names := make([]string, 0, len(s.nodeInfoMap))
	for name, ni := range s.nodeInfoMap {
		if ni.Node() != nil {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	s.nodeInfoList = s.nodeInfoList[:0]
	s.withAffinity = s.withAffinity[:0]
	s.withAntiAffinity = s.withAntiAffinity[:0]
	for _, name := range names {
		ni := s.nodeInfoMap[name]
		s.nodeInfoList = append(s.nodeInfoList, ni)
		if len(ni.PodsWithAffinity) > 0 {
			s.withAffinity = append(s.withAffinity, ni)
		}
		if len(ni.PodsWithRequiredAntiAffinity) > 0 {
			s.withAntiAffinity = append(s.withAntiAffinity, ni)
		}
	}
}

// UpdateSnapshot brings s up to date with the cache.
func (c *Cache) UpdateSnapshot(s *Snapshot) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	rebuild := c.removed != s.removed
	maxGen := s.generation
	// The list is in decreasing generation: stop at the first node the
	// snapshot already has.
	for it := c.head; it != nil && it.info.Generation > s.generation; it = it.next {
		ni, name := it.info, it.name
		maxGen = max(maxGen, ni.Generation)
		clone := ni.Snapshot()
		existing, ok := s.nodeInfoMap[name]
		if !ok {
			s.nodeInfoMap[name] = clone
			rebuild = true
			continue
		}
		if (existing.Node() == nil) != (clone.Node() == nil) ||
			(len(existing.PodsWithAffinity) > 0) != (len(clone.PodsWithAffinity) > 0) ||
			(len(existing.PodsWithRequiredAntiAffinity) > 0) != (len(clone.PodsWithRequiredAntiAffinity) > 0) {
			rebuild = true
		}
		// Copy in place: the lists point at existing.
		*existing = *clone
	}
	if c.removed != s.removed {
		for name := range s.nodeInfoMap {
			if _, ok := c.nodes[name]; !ok {
				delete(s.nodeInfoMap, name)
			}
		}
	}
	s.generation = maxGen
	s.removed = c.removed
	if rebuild {
		s.rebuildLists()
	}
}
