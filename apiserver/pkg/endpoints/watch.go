package endpoints

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"navarch.dev/apiserver/pkg/storage/watchcache"
)

// watch streams events as newline-delimited {"type":...,"object":...} JSON,
// the framing client-go's watch decoder reads.
func (a *API) watch(w http.ResponseWriter, r *http.Request, ri *RequestInfo, ep *Endpoint) {
	opts, err := a.listOptions(r, ri, ep)
	if err != nil {
		WriteError(w, err)
		return
	}
	out, proto, ok := negotiate(r)
	if !ok {
		WriteError(w, notAcceptable(r.Header.Get("Accept")))
		return
	}
	q := r.URL.Query()
	bookmarks := isTrue(q.Get("allowWatchBookmarks"))
	timeout := time.Duration(float64(a.MinRequestTimeout) * (1 + rand.Float64()))
	if s := q.Get("timeoutSeconds"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			WriteError(w, apierrors.NewBadRequest("invalid timeoutSeconds: "+s))
			return
		}
		timeout = time.Duration(n) * time.Second
	}
	ctx := r.Context()
	watcher, err := ep.Store.Watch(ctx, opts, bookmarks)
	if err != nil {
		if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
			// Upstream reports an expired watch as a 200 stream with one ERROR
			// event, which client-go turns into a relist.
			st := StatusFor(err)
			if proto {
				b, ferr := protobufWatchFrame(string(watch.Error), st)
				if ferr != nil {
					WriteError(w, ferr)
					return
				}
				w.Header().Set("Content-Type", ProtobufType+";stream=watch")
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write(b)
				return
			}
			stJSON, _ := json.Marshal(st)
			b, _ := json.Marshal(metav1.WatchEvent{Type: string(watch.Error), Object: runtime.RawExtension{Raw: stJSON}})
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(append(b, '\n'))
			return
		}
		WriteError(w, err)
		return
	}
	defer watcher.Stop()
	if a.watchers != nil {
		a.watchers(ri.Resource, 1)
		defer a.watchers(ri.Resource, -1)
	}
	flusher, _ := w.(http.Flusher)
	if proto {
		w.Header().Set("Content-Type", ProtobufType+";stream=watch")
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	w.Header().Set("Transfer-Encoding", "chunked")
	w.WriteHeader(http.StatusOK)
	if flusher != nil {
		flusher.Flush()
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	firstTable := true
	send := func(e *watchcache.Event) bool {
		b, err := a.encodeEvent(r, ep, e, out, proto, bookmarks, &firstTable)
		if err != nil {
			return false
		}
		if b == nil {
			return true
		}
		if _, err := w.Write(b); err != nil {
			return false
		}
		return true
	}
	for _, e := range watcher.Initial() {
		if !send(e) {
			return
		}
	}
	if flusher != nil {
		flusher.Flush()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
			return
		case <-watcher.Done():
			return
		case e, ok := <-watcher.ResultChan():
			if !ok {
				return
			}
			if !send(e) {
				return
			}
			// Drain what is already queued before flushing once.
			for more := true; more; {
				select {
				case e2, ok := <-watcher.ResultChan():
					if !ok || !send(e2) {
						return
					}
				default:
					more = false
				}
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
	}
}

// encodeEvent returns one framed event, or nil for an event this watcher does
// not get (a bookmark it did not ask for).
func (a *API) encodeEvent(r *http.Request, ep *Endpoint, e *watchcache.Event, out output, proto, bookmarks bool, firstTable *bool) ([]byte, error) {
	if proto {
		return a.encodeProtobufEvent(ep, e, out, bookmarks)
	}
	var obj []byte
	var err error
	if e.Type == watch.Bookmark {
		if !bookmarks {
			return nil, nil
		}
		bm := ep.Resource.New()
		m := metaOf(bm)
		m.SetResourceVersion(strconv.FormatInt(e.Rev, 10))
		if e.InitialEventsEnd {
			m.SetAnnotations(map[string]string{metav1.InitialEventsAnnotationKey: "true"})
		}
		bm.GetObjectKind().SetGroupVersionKind(ep.Resource.GroupVersionKind())
		if out == outputMetadata {
			obj, err = json.Marshal(partialMetadata(bm))
		} else {
			obj, err = json.Marshal(bm)
		}
	} else {
		switch out {
		case outputTable:
			served, cerr := ep.toServed(e.Obj.Obj)
			if cerr != nil {
				return nil, cerr
			}
			t, terr := a.table([]runtime.Object{served}, r, ep, !*firstTable)
			if terr != nil {
				return nil, terr
			}
			*firstTable = false
			t.ResourceVersion = strconv.FormatInt(e.Rev, 10)
			obj, err = json.Marshal(t)
		case outputMetadata:
			obj, err = json.Marshal(partialMetadata(e.Obj.Obj))
		default:
			obj, err = ep.encodeCached(e.Obj)
		}
	}
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 0, len(obj)+40)
	buf = append(buf, `{"type":"`...)
	buf = append(buf, e.Type...)
	buf = append(buf, `","object":`...)
	buf = append(buf, obj...)
	buf = append(buf, "}\n"...)
	return buf, nil
}

func (a *API) encodeProtobufEvent(ep *Endpoint, e *watchcache.Event, out output, bookmarks bool) ([]byte, error) {
	var obj runtime.Object
	if e.Type == watch.Bookmark {
		if !bookmarks {
			return nil, nil
		}
		bm := ep.Resource.New()
		m := metaOf(bm)
		m.SetResourceVersion(strconv.FormatInt(e.Rev, 10))
		if e.InitialEventsEnd {
			m.SetAnnotations(map[string]string{metav1.InitialEventsAnnotationKey: "true"})
		}
		obj = bm
	} else {
		served, err := ep.toServed(e.Obj.Obj)
		if err != nil {
			return nil, err
		}
		obj = served
	}
	// Cached objects carry their kind already; only others are set (and
	// those are this request's own).
	if obj.GetObjectKind().GroupVersionKind() != ep.Resource.GroupVersionKind() {
		if e.Obj != nil && obj == e.Obj.Obj {
			obj = obj.DeepCopyObject()
		}
		obj.GetObjectKind().SetGroupVersionKind(ep.Resource.GroupVersionKind())
	}
	if out == outputMetadata {
		obj = partialMetadata(obj)
	}
	return protobufWatchFrame(string(e.Type), obj)
}
