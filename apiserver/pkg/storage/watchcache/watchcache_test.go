package watchcache

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/json"

	"navarch.dev/apiserver/pkg/storage"
)

// fakeStore replays batches the test sends, as one etcd watch would.
type fakeStore struct {
	batches chan storage.WatchBatch
}

func (f *fakeStore) List(context.Context, string, string, int64, int64) (*storage.ListResult, error) {
	return &storage.ListResult{Revision: 1}, nil
}

func (f *fakeStore) Watch(ctx context.Context, _ string, _ int64) (<-chan storage.WatchBatch, <-chan error) {
	errc := make(chan error, 1)
	out := make(chan storage.WatchBatch)
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				errc <- ctx.Err()
				return
			case b := <-f.batches:
				out <- b
			}
		}
	}()
	return out, errc
}

func (f *fakeStore) RequestProgress(context.Context) error   { return nil }
func (f *fakeStore) Revision(context.Context) (int64, error) { return 0, errors.New("unused") }

func decodeCM(key string, value []byte, rev int64) (*Object, error) {
	var cm corev1.ConfigMap
	if err := json.UnmarshalCaseSensitivePreserveInts(value, &cm); err != nil {
		return nil, err
	}
	cm.ResourceVersion = fmt.Sprint(rev)
	return &Object{Key: key, Obj: &cm, Rev: rev, Labels: labels.Set(cm.Labels)}, nil
}

func cmJSON(app string) []byte {
	return []byte(fmt.Sprintf(`{"metadata":{"name":"a","labels":{"app":%q}}}`, app))
}

// One etcd watch response may carry several changes of the same key; each
// must be judged against the state the previous one left.
func TestSeveralChangesOfOneKeyInOneBatch(t *testing.T) {
	fs := &fakeStore{batches: make(chan storage.WatchBatch)}
	c := New(fs, "/cm/", decodeCM, 100)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go c.Run(ctx)
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	w, err := c.Watch(ctx, WatchOptions{Prefix: "/cm/", Rev: 1, Match: func(o *Object) bool { return o.Labels["app"] == "x" }})
	if err != nil {
		t.Fatal(err)
	}
	fs.batches <- storage.WatchBatch{Revision: 5, Events: []storage.Event{
		{Type: storage.Put, Key: "/cm/a", Value: cmJSON("x"), Revision: 2, IsCreate: true},
		{Type: storage.Put, Key: "/cm/a", Value: cmJSON("y"), PrevValue: cmJSON("x"), Revision: 3},
		{Type: storage.Put, Key: "/cm/a", Value: cmJSON("x"), PrevValue: cmJSON("y"), Revision: 4},
		{Type: storage.Delete, Key: "/cm/a", PrevValue: cmJSON("x"), Revision: 5},
	}}
	var got []watch.EventType
	for len(got) < 4 {
		select {
		case e := <-w.ResultChan():
			got = append(got, e.Type)
		case <-ctx.Done():
			t.Fatalf("events so far %v", got)
		}
	}
	want := []watch.EventType{watch.Added, watch.Deleted, watch.Added, watch.Deleted}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	if o, _, _ := c.Get(ctx, "/cm/a", 5); o != nil {
		t.Fatalf("deleted object still cached: %v", o.Obj)
	}
}
