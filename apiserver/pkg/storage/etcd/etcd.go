// Package etcd implements storage over an etcd v3 cluster: creates and updates
// are transactions guarded by the key's create or mod revision, so concurrent
// writers never lose each other's changes, and reads and watches carry etcd's
// revision, which the API serves as resourceVersion.
package etcd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"navarch.dev/apiserver/pkg/storage"
)

// Observer is told how long each etcd request took; the apiserver exports it as
// a latency histogram. It may be nil.
type Observer func(operation string, d time.Duration)

// Store reads and writes keys below a prefix of one etcd cluster.
type Store struct {
	cli     *clientv3.Client
	observe Observer
}

// New returns a Store on cli.
func New(cli *clientv3.Client, observe Observer) *Store {
	if observe == nil {
		observe = func(string, time.Duration) {}
	}
	return &Store{cli: cli, observe: observe}
}

// Client is the etcd client the store uses.
func (s *Store) Client() *clientv3.Client { return s.cli }

// Create stores value at key if the key does not exist and returns the revision
// of the write. It returns storage.ErrExists otherwise.
func (s *Store) Create(ctx context.Context, key string, value []byte) (int64, error) {
	defer s.time("create", time.Now())
	resp, err := s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, string(value))).
		Commit()
	if err != nil {
		return 0, fmt.Errorf("create %s: %w", key, err)
	}
	if !resp.Succeeded {
		return 0, storage.ErrExists
	}
	return resp.Header.Revision, nil
}

// Update replaces the value at key if the key's mod revision is still rev. On a
// mismatch it returns storage.ErrConflict with the current value (nil and
// storage.ErrNotFound when the key is gone).
func (s *Store) Update(ctx context.Context, key string, value []byte, rev int64) (int64, *storage.KV, error) {
	defer s.time("update", time.Now())
	resp, err := s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(key), "=", rev)).
		Then(clientv3.OpPut(key, string(value))).
		Else(clientv3.OpGet(key)).
		Commit()
	if err != nil {
		return 0, nil, fmt.Errorf("update %s: %w", key, err)
	}
	if resp.Succeeded {
		return resp.Header.Revision, nil, nil
	}
	kv, err := currentFromElse(resp)
	return 0, kv, err
}

// Delete removes key if its mod revision is still rev, and returns the revision
// of the delete. Mismatches are reported as in Update.
func (s *Store) Delete(ctx context.Context, key string, rev int64) (int64, *storage.KV, error) {
	defer s.time("delete", time.Now())
	resp, err := s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(key), "=", rev)).
		Then(clientv3.OpDelete(key)).
		Else(clientv3.OpGet(key)).
		Commit()
	if err != nil {
		return 0, nil, fmt.Errorf("delete %s: %w", key, err)
	}
	if resp.Succeeded {
		return resp.Header.Revision, nil, nil
	}
	kv, err := currentFromElse(resp)
	return 0, kv, err
}

func currentFromElse(resp *clientv3.TxnResponse) (*storage.KV, error) {
	if len(resp.Responses) == 0 {
		return nil, storage.ErrConflict
	}
	kvs := resp.Responses[0].GetResponseRange().GetKvs()
	if len(kvs) == 0 {
		return nil, storage.ErrNotFound
	}
	return toKV(kvs[0]), storage.ErrConflict
}

// Get reads key at the latest revision.
func (s *Store) Get(ctx context.Context, key string) (*storage.KV, error) {
	defer s.time("get", time.Now())
	resp, err := s.cli.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, storage.ErrNotFound
	}
	return toKV(resp.Kvs[0]), nil
}

// List reads up to limit keys (0 means all) with the given prefix, starting at
// startKey (inclusive; "" means the prefix itself), at revision rev (0 means the
// latest). A compacted rev gives a *storage.CompactedError.
func (s *Store) List(ctx context.Context, prefix, startKey string, rev, limit int64) (*storage.ListResult, error) {
	defer s.time("list", time.Now())
	if startKey == "" {
		startKey = prefix
	}
	opts := []clientv3.OpOption{clientv3.WithRange(clientv3.GetPrefixRangeEnd(prefix))}
	if rev > 0 {
		opts = append(opts, clientv3.WithRev(rev))
	}
	if limit > 0 {
		opts = append(opts, clientv3.WithLimit(limit))
	}
	resp, err := s.cli.Get(ctx, startKey, opts...)
	if err != nil {
		if errors.Is(err, rpctypes.ErrCompacted) {
			return nil, &storage.CompactedError{Requested: rev}
		}
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	out := &storage.ListResult{Revision: resp.Header.Revision, More: resp.More}
	if rev > 0 {
		out.Revision = rev
	}
	out.KVs = make([]storage.KV, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		out.KVs = append(out.KVs, *toKV(kv))
	}
	return out, nil
}

// Revision returns the store's current revision.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	resp, err := s.cli.Get(ctx, "compact_rev_key", clientv3.WithCountOnly())
	if err != nil {
		return 0, fmt.Errorf("read revision: %w", err)
	}
	return resp.Header.Revision, nil
}

// Watch streams the changes to keys below prefix after revision rev (events
// with revisions > rev). The channel carries batches in revision order and is
// closed when ctx ends or the watch fails; a compacted rev is reported as the
// single error of the returned error channel.
func (s *Store) Watch(ctx context.Context, prefix string, rev int64) (<-chan storage.WatchBatch, <-chan error) {
	out := make(chan storage.WatchBatch, 100)
	errc := make(chan error, 1)
	go func() {
		defer close(out)
		wc := s.cli.Watch(ctx, prefix, clientv3.WithPrefix(), clientv3.WithRev(rev+1), clientv3.WithPrevKV(), clientv3.WithProgressNotify())
		for resp := range wc {
			if resp.CompactRevision != 0 {
				errc <- &storage.CompactedError{Requested: rev, Compacted: resp.CompactRevision}
				return
			}
			if err := resp.Err(); err != nil {
				errc <- fmt.Errorf("watch %s: %w", prefix, err)
				return
			}
			if resp.Created {
				continue
			}
			if len(resp.Events) == 0 {
				if resp.IsProgressNotify() {
					select {
					case out <- storage.WatchBatch{Revision: resp.Header.Revision}:
					case <-ctx.Done():
						return
					}
				}
				continue
			}
			batch := make([]storage.Event, 0, len(resp.Events))
			for _, ev := range resp.Events {
				e := storage.Event{Key: string(ev.Kv.Key), Revision: ev.Kv.ModRevision}
				if ev.PrevKv != nil {
					e.PrevValue = ev.PrevKv.Value
				}
				switch ev.Type {
				case mvccpb.PUT:
					e.Type = storage.Put
					e.Value = ev.Kv.Value
					e.IsCreate = ev.IsCreate()
				case mvccpb.DELETE:
					e.Type = storage.Delete
				}
				batch = append(batch, e)
			}
			select {
			case out <- storage.WatchBatch{Events: batch, Revision: batch[len(batch)-1].Revision}:
			case <-ctx.Done():
				return
			}
		}
		if ctx.Err() == nil {
			errc <- fmt.Errorf("watch %s: channel closed", prefix)
		}
	}()
	return out, errc
}

// RequestProgress asks etcd to send a progress notification on the watches
// started with ctx, so that they learn the current revision even when their
// keys have not changed.
func (s *Store) RequestProgress(ctx context.Context) error {
	return s.cli.RequestProgress(ctx)
}

// WatchContext prepares a context for Watch: watches that share it share one
// gRPC stream, and RequestProgress on it reaches them.
func WatchContext(ctx context.Context) context.Context {
	return clientv3.WithRequireLeader(ctx)
}

// Compact compacts etcd's history up to rev.
func (s *Store) Compact(ctx context.Context, rev int64) error {
	_, err := s.cli.Compact(ctx, rev)
	if err != nil && !errors.Is(err, rpctypes.ErrCompacted) {
		return fmt.Errorf("compact to %d: %w", rev, err)
	}
	return nil
}

func (s *Store) time(op string, start time.Time) { s.observe(op, time.Since(start)) }

func toKV(kv *mvccpb.KeyValue) *storage.KV {
	return &storage.KV{Key: string(kv.Key), Value: kv.Value, CreateRevision: kv.CreateRevision, ModRevision: kv.ModRevision}
}
