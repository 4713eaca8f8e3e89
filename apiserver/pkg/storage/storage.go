// Package storage defines what the registry needs from a key-value store: keyed
// byte values with revisions, compare-and-swap writes, paged reads at a revision,
// and a watch of a key prefix. pkg/storage/etcd implements it over etcd.
package storage

import (
	"errors"
	"fmt"
)

var (
	// ErrNotFound means the key does not exist.
	ErrNotFound = errors.New("storage: key not found")
	// ErrExists means a create found the key already present.
	ErrExists = errors.New("storage: key already exists")
	// ErrConflict means a write's expected revision is not the key's current one.
	ErrConflict = errors.New("storage: object has been modified")
)

// CompactedError is returned when a read or watch asks for a revision that has
// been compacted away.
type CompactedError struct {
	// Requested is the revision asked for; Compacted the store's compact revision.
	Requested, Compacted int64
}

func (e *CompactedError) Error() string {
	return fmt.Sprintf("storage: revision %d has been compacted (compact revision %d)", e.Requested, e.Compacted)
}

// KV is one stored key and its value.
type KV struct {
	Key            string
	Value          []byte
	CreateRevision int64
	ModRevision    int64
}

// EventType says what happened to a key.
type EventType int

const (
	Put EventType = iota
	Delete
)

// Event is one change seen by a watch. For a Put, Value is the new value and
// PrevValue the value before (nil when the key was created). For a Delete, Value
// is nil and PrevValue the last value.
type Event struct {
	Type      EventType
	Key       string
	Value     []byte
	PrevValue []byte
	Revision  int64
	IsCreate  bool
}

// WatchBatch is what one watch response carried: events in revision order, and
// the revision up to which the watch has seen every change. A batch with no
// events is a progress notification.
type WatchBatch struct {
	Events   []Event
	Revision int64
}

// ListResult is one page of a prefix read.
type ListResult struct {
	KVs []KV
	// Revision is the store revision the page was read at.
	Revision int64
	// More is true when keys beyond the last returned one remain.
	More bool
}
