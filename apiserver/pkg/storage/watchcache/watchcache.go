// Package watchcache keeps one resource's objects and a window of its recent
// changes in memory, fed by a single etcd watch. Every client watch and every
// resourceVersion=0 list of the resource is served from here, so N watchers cost
// one etcd watch.
package watchcache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"navarch.dev/apiserver/pkg/storage"
)

// ErrTooOld means a watch asked for a revision older than the window and the
// store has compacted it; the client must list again (410 Gone).
var ErrTooOld = errors.New("watchcache: resource version too old")

// Object is a decoded stored object. It is shared by all readers and must not
// be changed; DeepCopy it first.
type Object struct {
	Key    string
	Obj    runtime.Object
	Rev    int64
	Labels labels.Set
	Fields fields.Set

	encodeOnce sync.Once
	encoded    []byte
	encodeErr  error
}

// JSON returns the object's encoding by encode, computed once and shared by
// every list and watch that sends the object.
func (o *Object) JSON(encode func(runtime.Object) ([]byte, error)) ([]byte, error) {
	o.encodeOnce.Do(func() { o.encoded, o.encodeErr = encode(o.Obj) })
	return o.encoded, o.encodeErr
}

// Event is one change. For Modified and Deleted, Prev is the state before. For
// Deleted, Obj is the last state with the deletion's revision. Bookmark events
// carry only Rev.
type Event struct {
	Type watch.EventType
	Obj  *Object
	Prev *Object
	Rev  int64
	// InitialEventsEnd marks the bookmark that ends a watch's initial events.
	InitialEventsEnd bool
}

// Decoder turns a stored value into an Object; rev becomes its resourceVersion.
type Decoder func(key string, value []byte, rev int64) (*Object, error)

// Store is what the cache reads from.
type Store interface {
	List(ctx context.Context, prefix, startKey string, rev, limit int64) (*storage.ListResult, error)
	Watch(ctx context.Context, prefix string, rev int64) (<-chan storage.WatchBatch, <-chan error)
	RequestProgress(ctx context.Context) error
	Revision(ctx context.Context) (int64, error)
}

// Cache is the watch cache of one key prefix.
type Cache struct {
	prefix   string
	store    Store
	decode   Decoder
	capacity int

	mu       sync.RWMutex
	changed  *sync.Cond // broadcast when rev advances or readiness changes
	objects  map[string]*Object
	window   []*Event // ring of the last capacity events
	head     int      // index of the oldest event in window
	size     int
	startRev int64 // every change after startRev is in the window
	rev      int64 // the cache reflects the store at rev
	ready    bool
	watchers map[*Watcher]struct{}
	watchCtx context.Context
}

// New returns a cache of the keys below prefix holding up to capacity events.
func New(store Store, prefix string, decode Decoder, capacity int) *Cache {
	if capacity <= 0 {
		capacity = 1000
	}
	c := &Cache{
		prefix:   prefix,
		store:    store,
		decode:   decode,
		capacity: capacity,
		objects:  map[string]*Object{},
		window:   make([]*Event, capacity),
		watchers: map[*Watcher]struct{}{},
	}
	c.changed = sync.NewCond(&c.mu)
	return c
}

// Run fills the cache and keeps it current until ctx ends. When the store
// watch fails, the cache lists again and ends its watchers, which then resume
// from their last revision.
func (c *Cache) Run(ctx context.Context) {
	go func() {
		<-ctx.Done()
		c.mu.Lock()
		c.ready = false
		c.terminateWatchers()
		c.changed.Broadcast()
		c.mu.Unlock()
	}()
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := c.listAndWatch(ctx)
		if ctx.Err() != nil {
			return
		}
		slog.Warn("watch cache restarting", "prefix", c.prefix, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		if backoff < 5*time.Second {
			backoff *= 2
		}
	}
}

func (c *Cache) listAndWatch(ctx context.Context) error {
	objects := map[string]*Object{}
	var rev int64
	start := ""
	for {
		page, err := c.store.List(ctx, c.prefix, start, rev, 1000)
		if err != nil {
			return err
		}
		rev = page.Revision
		for _, kv := range page.KVs {
			o, err := c.decode(kv.Key, kv.Value, kv.ModRevision)
			if err != nil {
				slog.Error("watch cache: undecodable object skipped", "key", kv.Key, "err", err)
				continue
			}
			objects[kv.Key] = o
		}
		if !page.More || len(page.KVs) == 0 {
			break
		}
		start = page.KVs[len(page.KVs)-1].Key + "\x00"
	}

	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wctx = watchContext(wctx)
	c.mu.Lock()
	c.terminateWatchers()
	c.objects = objects
	c.head, c.size = 0, 0
	c.startRev, c.rev = rev, rev
	c.ready = true
	c.watchCtx = wctx
	c.changed.Broadcast()
	c.mu.Unlock()

	defer func() {
		c.mu.Lock()
		c.ready = false
		c.watchCtx = nil
		c.mu.Unlock()
	}()
	batches, errc := c.store.Watch(wctx, c.prefix, rev)
	for b := range batches {
		c.apply(b)
	}
	select {
	case err := <-errc:
		return err
	default:
		return errors.New("watch ended")
	}
}

// watchContext is replaced in tests that use a store without gRPC streams.
var watchContext = func(ctx context.Context) context.Context { return ctx }

// SetWatchContext sets how the cache prepares the context of its store watch
// (the etcd store needs its own, so that progress requests reach the watch).
func SetWatchContext(f func(context.Context) context.Context) { watchContext = f }

func (c *Cache) apply(b storage.WatchBatch) {
	events := make([]*Event, 0, len(b.Events))
	// One batch may change a key several times: later events see the state
	// the earlier ones left, not the cache's.
	batchState := map[string]*Object{}
	lookup := func(key string) *Object {
		if o, ok := batchState[key]; ok {
			return o
		}
		return c.lookup(key)
	}
	for _, se := range b.Events {
		prev := lookup(se.Key)
		switch se.Type {
		case storage.Put:
			o, err := c.decode(se.Key, se.Value, se.Revision)
			if err != nil {
				slog.Error("watch cache: undecodable object skipped", "key", se.Key, "err", err)
				continue
			}
			t := watch.Modified
			if prev == nil {
				t = watch.Added
			}
			events = append(events, &Event{Type: t, Obj: o, Prev: prev, Rev: se.Revision})
			batchState[se.Key] = o
		case storage.Delete:
			if prev == nil {
				continue
			}
			// The deleted object is reported with the revision of its deletion.
			o, err := c.decode(se.Key, se.PrevValue, se.Revision)
			if err != nil {
				o = &Object{Key: prev.Key, Obj: prev.Obj, Rev: se.Revision, Labels: prev.Labels, Fields: prev.Fields}
				o.Obj = prev.Obj.DeepCopyObject()
				setRV(o.Obj, se.Revision)
			}
			events = append(events, &Event{Type: watch.Deleted, Obj: o, Prev: prev, Rev: se.Revision})
			batchState[se.Key] = nil
		}
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range events {
		if e.Type == watch.Deleted {
			delete(c.objects, e.Obj.Key)
		} else {
			c.objects[e.Obj.Key] = e.Obj
		}
		c.push(e)
		for w := range c.watchers {
			w.send(e)
		}
	}
	if b.Revision > c.rev {
		c.rev = b.Revision
	}
	c.changed.Broadcast()
}

// Current returns the cached object at key as the cache has it now, without
// waiting: nil when absent or before the cache is ready. It may lag etcd, so
// it only suits writes that are conditional on the object's revision.
func (c *Cache) Current(key string) *Object {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.ready {
		return nil
	}
	return c.objects[key]
}

func (c *Cache) lookup(key string) *Object {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.objects[key]
}

// push adds e to the window, evicting the oldest event when full.
func (c *Cache) push(e *Event) {
	if c.size == c.capacity {
		c.startRev = c.window[c.head].Rev
		c.window[c.head] = nil
		c.head = (c.head + 1) % c.capacity
		c.size--
	}
	c.window[(c.head+c.size)%c.capacity] = e
	c.size++
}

// waitFresh waits, with c.mu held, until the cache is ready and reflects at
// least revision rev (0: just ready). It asks the store for a progress
// notification when the cache is behind, since a quiet prefix would otherwise
// never learn newer revisions.
func (c *Cache) waitFresh(ctx context.Context, rev int64) error {
	if c.ready && c.rev >= rev {
		return nil
	}
	stop := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		c.changed.Broadcast()
		c.mu.Unlock()
	})
	defer stop()
	asked := false
	for !c.ready || c.rev < rev {
		if err := ctx.Err(); err != nil {
			if !c.ready {
				return fmt.Errorf("watch cache of %s not ready: %w", c.prefix, err)
			}
			return fmt.Errorf("too large resource version: %d, current: %d: %w", rev, c.rev, err)
		}
		if c.ready && !asked && c.watchCtx != nil {
			asked = true
			wctx := c.watchCtx
			go func() { _ = c.store.RequestProgress(wctx) }()
		}
		c.changed.Wait()
	}
	return nil
}

// Ready reports whether the cache has been filled.
func (c *Cache) Ready() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.ready
}

// Revision is the store revision the cache reflects.
func (c *Cache) Revision() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.rev
}

// WaitReady blocks until the cache is filled or ctx ends.
func (c *Cache) WaitReady(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.waitFresh(ctx, 0)
}

// List returns the objects below prefix (a sub-prefix of the cache's, e.g. one
// namespace) sorted by key, once the cache reflects at least minRev, and the
// revision they reflect.
func (c *Cache) List(ctx context.Context, prefix string, minRev int64, match func(*Object) bool) ([]*Object, int64, error) {
	c.mu.Lock()
	if err := c.waitFresh(ctx, minRev); err != nil {
		c.mu.Unlock()
		return nil, 0, err
	}
	out := make([]*Object, 0, len(c.objects))
	for k, o := range c.objects {
		if len(k) >= len(prefix) && k[:len(prefix)] == prefix && (match == nil || match(o)) {
			out = append(out, o)
		}
	}
	rev := c.rev
	c.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, rev, nil
}

// Get returns the cached object at key (nil when absent) once the cache
// reflects at least minRev.
func (c *Cache) Get(ctx context.Context, key string, minRev int64) (*Object, int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.waitFresh(ctx, minRev); err != nil {
		return nil, 0, err
	}
	return c.objects[key], c.rev, nil
}

// WatchOptions says what a watcher wants.
type WatchOptions struct {
	// Prefix limits the watch to keys below it (a namespace, or one object's key).
	Prefix string
	// Rev is the revision to start after. With Initial, the watch first gets an
	// Added event for each matching object at the cache's revision (which is at
	// least Rev), then changes after it.
	Rev     int64
	Initial bool
	// InitialEventsEnd asks for a bookmark after the initial events.
	InitialEventsEnd bool
	// Match filters objects (label and field selectors); nil matches all.
	Match func(*Object) bool
	// Buffer is the watcher's channel size; a watcher that falls this far behind
	// is ended and must resume.
	Buffer int
}

// Watch starts a watcher. It returns ErrTooOld when Rev is older than the
// window and the store can no longer serve it.
func (c *Cache) Watch(ctx context.Context, opts WatchOptions) (*Watcher, error) {
	if opts.Buffer <= 0 {
		opts.Buffer = 1000
	}
	c.mu.Lock()
	if err := c.waitFresh(ctx, 0); err != nil {
		c.mu.Unlock()
		return nil, err
	}
	if !opts.Initial && opts.Rev < c.startRev {
		c.mu.Unlock()
		return c.watchStore(ctx, opts)
	}
	if !opts.Initial && opts.Rev > c.rev {
		if err := c.waitFresh(ctx, opts.Rev); err != nil {
			c.mu.Unlock()
			return nil, err
		}
	}
	w := newWatcher(opts)
	if opts.Initial {
		objs := make([]*Object, 0, len(c.objects))
		for k, o := range c.objects {
			if hasPrefix(k, opts.Prefix) && w.matches(o) {
				objs = append(objs, o)
			}
		}
		sort.Slice(objs, func(i, j int) bool { return objs[i].Key < objs[j].Key })
		for _, o := range objs {
			w.initial = append(w.initial, &Event{Type: watch.Added, Obj: o, Rev: o.Rev})
		}
		if opts.InitialEventsEnd {
			w.initial = append(w.initial, &Event{Type: watch.Bookmark, Rev: c.rev, InitialEventsEnd: true})
		}
	} else {
		for i := 0; i < c.size; i++ {
			e := c.window[(c.head+i)%c.capacity]
			if e.Rev > opts.Rev {
				if te, ok := w.transform(e); ok {
					w.initial = append(w.initial, te)
				}
			}
		}
	}
	c.watchers[w] = struct{}{}
	c.mu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
		case <-w.done:
		}
		c.mu.Lock()
		if _, ok := c.watchers[w]; ok {
			delete(c.watchers, w)
			w.stop()
		}
		c.mu.Unlock()
	}()
	return w, nil
}

// Bookmark sends every watcher a bookmark at the cache's revision, behind the
// events already queued for it.
func (c *Cache) Bookmark() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.ready {
		return
	}
	e := &Event{Type: watch.Bookmark, Rev: c.rev}
	for w := range c.watchers {
		w.send(e)
	}
}

func (c *Cache) terminateWatchers() {
	for w := range c.watchers {
		delete(c.watchers, w)
		w.stop()
	}
}

// watchStore serves a watch older than the window straight from the store.
func (c *Cache) watchStore(ctx context.Context, opts WatchOptions) (*Watcher, error) {
	wctx, cancel := context.WithCancel(ctx)
	batches, errc := c.store.Watch(watchContext(wctx), opts.Prefix, opts.Rev)
	// The store reports compaction as the watch's first response.
	w := newWatcher(opts)
	first, ok := <-batches
	if !ok {
		cancel()
		var ce *storage.CompactedError
		if err := <-errc; errors.As(err, &ce) {
			return nil, ErrTooOld
		} else if err != nil {
			return nil, err
		}
		return nil, ErrTooOld
	}
	prev := map[string]*Object{}
	deliver := func(b storage.WatchBatch) bool {
		for _, se := range b.Events {
			var e *Event
			p := prev[se.Key]
			if p == nil && se.PrevValue != nil {
				p, _ = c.decode(se.Key, se.PrevValue, se.Revision)
			}
			switch se.Type {
			case storage.Put:
				o, err := c.decode(se.Key, se.Value, se.Revision)
				if err != nil {
					continue
				}
				t := watch.Modified
				if se.IsCreate {
					t, p = watch.Added, nil
				}
				e = &Event{Type: t, Obj: o, Prev: p, Rev: se.Revision}
				prev[se.Key] = o
			case storage.Delete:
				if p == nil {
					continue
				}
				o := &Object{Key: p.Key, Obj: p.Obj.DeepCopyObject(), Rev: se.Revision, Labels: p.Labels, Fields: p.Fields}
				setRV(o.Obj, se.Revision)
				e = &Event{Type: watch.Deleted, Obj: o, Prev: p, Rev: se.Revision}
				delete(prev, se.Key)
			}
			if te, ok := w.transform(e); ok {
				select {
				case w.ch <- te:
				case <-w.done:
					return false
				}
			}
		}
		return true
	}
	go func() {
		defer cancel()
		defer w.stop()
		if !deliver(first) {
			return
		}
		for b := range batches {
			if !deliver(b) {
				return
			}
		}
	}()
	go func() {
		<-w.done
		cancel()
	}()
	return w, nil
}

func setRV(obj runtime.Object, rev int64) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetResourceVersion(strconv.FormatInt(rev, 10))
	}
}

func hasPrefix(k, p string) bool { return len(k) >= len(p) && k[:len(p)] == p }

// Watcher is one client's watch. Read Initial first, then ResultChan until it
// closes.
type Watcher struct {
	opts     WatchOptions
	initial  []*Event
	ch       chan *Event
	done     chan struct{}
	stopOnce sync.Once
}

func newWatcher(opts WatchOptions) *Watcher {
	return &Watcher{opts: opts, ch: make(chan *Event, opts.Buffer), done: make(chan struct{})}
}

// Initial returns the events that precede those on ResultChan.
func (w *Watcher) Initial() []*Event { return w.initial }

// ResultChan carries events after the initial ones; it is closed when the
// watcher ends (Stop, its context, a full buffer, or a cache restart).
func (w *Watcher) ResultChan() <-chan *Event { return w.ch }

// Done is closed when the watcher ends.
func (w *Watcher) Done() <-chan struct{} { return w.done }

// Stop ends the watcher.
func (w *Watcher) Stop() { w.stop() }

func (w *Watcher) stop() {
	w.stopOnce.Do(func() { close(w.done) })
}

func (w *Watcher) matches(o *Object) bool {
	return o != nil && hasPrefix(o.Key, w.opts.Prefix) && (w.opts.Match == nil || w.opts.Match(o))
}

// transform applies the watcher's filter: an object that starts matching is
// reported as Added, one that stops matching as Deleted.
func (w *Watcher) transform(e *Event) (*Event, bool) {
	if e.Type == watch.Bookmark {
		return e, true
	}
	cur := e.Type != watch.Deleted && w.matches(e.Obj)
	was := e.Prev != nil && w.matches(e.Prev)
	switch {
	case e.Type == watch.Deleted:
		if was || (e.Prev == nil && w.matches(e.Obj)) {
			return e, true
		}
	case cur && was:
		return e, true
	case cur && !was:
		return &Event{Type: watch.Added, Obj: e.Obj, Prev: e.Prev, Rev: e.Rev}, true
	case !cur && was:
		return &Event{Type: watch.Deleted, Obj: e.Obj, Prev: e.Prev, Rev: e.Rev}, true
	}
	return nil, false
}

// send queues e without blocking; a watcher too far behind is ended, and its
// client resumes from the last revision it saw.
func (w *Watcher) send(e *Event) {
	te, ok := w.transform(e)
	if !ok {
		return
	}
	select {
	case <-w.done:
	case w.ch <- te:
	default:
		slog.Info("watch cache: ending a watcher that fell behind", "prefix", w.opts.Prefix)
		w.stop()
	}
}
