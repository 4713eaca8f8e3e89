package registry

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"

	"navarch.dev/apiserver/pkg/storage"
	"navarch.dev/apiserver/pkg/storage/watchcache"
)

// ListOptions select what List and Watch return.
type ListOptions struct {
	Namespace            string
	LabelSelector        labels.Selector
	FieldSelector        fields.Selector
	ResourceVersion      string
	ResourceVersionMatch metav1.ResourceVersionMatch
	Limit                int64
	Continue             string
	// Watch only.
	SendInitialEvents *bool
}

// ListResult is one list response.
type ListResult struct {
	Items    []*watchcache.Object
	Revision int64
	Continue string
	// RemainingItemCount is set for pages without selectors, as upstream does.
	RemainingItemCount *int64
}

func (s *Store) matcher(opts ListOptions) func(*watchcache.Object) bool {
	ls, fs := opts.LabelSelector, opts.FieldSelector
	if (ls == nil || ls.Empty()) && (fs == nil || fs.Empty()) {
		return nil
	}
	return func(o *watchcache.Object) bool {
		if ls != nil && !ls.Matches(o.Labels) {
			return false
		}
		if fs != nil && !fs.Matches(o.Fields) {
			return false
		}
		return true
	}
}

// ValidateFieldSelector checks that the selector names only fields this
// resource can be selected by.
func (s *Store) ValidateFieldSelector(fs fields.Selector) error {
	if fs == nil {
		return nil
	}
	known := map[string]bool{"metadata.name": true}
	if s.Resource.Namespaced {
		known["metadata.namespace"] = true
	}
	if s.Resource.Fields != nil {
		for k := range s.Resource.Fields(s.Resource.New()) {
			known[k] = true
		}
	}
	for _, r := range fs.Requirements() {
		if !known[r.Field] {
			return apierrors.NewBadRequest(fmt.Sprintf("field label not supported: %s", r.Field))
		}
	}
	return nil
}

type continueToken struct {
	APIVersion      string `json:"v"`
	ResourceVersion int64  `json:"rv"`
	StartKey        string `json:"start"`
}

func encodeContinue(key, prefix string, rev int64) string {
	b, _ := json.Marshal(continueToken{APIVersion: "meta.k8s.io/v1", ResourceVersion: rev, StartKey: strings.TrimPrefix(key, prefix)})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeContinue(tok, prefix string) (string, int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return "", 0, fmt.Errorf("continue key is not valid: %w", err)
	}
	var c continueToken
	if err := json.Unmarshal(b, &c); err != nil || c.APIVersion != "meta.k8s.io/v1" || c.ResourceVersion <= 0 {
		return "", 0, errors.New("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
	}
	if strings.Contains(c.StartKey, "..") || strings.HasPrefix(c.StartKey, "/") {
		return "", 0, errors.New("continue key is not valid: the start key may not be a relative or absolute path")
	}
	return prefix + c.StartKey, c.ResourceVersion, nil
}

// List returns the objects matching opts. A list with no resourceVersion is
// consistent: it reflects every write acknowledged before it began. A list at
// resourceVersion "0" is served from the watch cache as it is; other versions
// from the cache once it is at least that fresh, or from etcd at exactly that
// revision with resourceVersionMatch=Exact or a limit.
func (s *Store) List(ctx context.Context, opts ListOptions) (*ListResult, error) {
	prefix := s.nsPrefix(opts.Namespace)
	match := s.matcher(opts)
	var rv int64
	if opts.ResourceVersion != "" {
		var err error
		if rv, err = parseRV(opts.ResourceVersion); err != nil {
			return nil, err
		}
	}
	switch opts.ResourceVersionMatch {
	case "", metav1.ResourceVersionMatchNotOlderThan, metav1.ResourceVersionMatchExact:
	default:
		return nil, apierrors.NewBadRequest(fmt.Sprintf("unknown resourceVersionMatch %q", opts.ResourceVersionMatch))
	}
	if opts.ResourceVersionMatch != "" && opts.ResourceVersion == "" {
		return nil, apierrors.NewBadRequest("resourceVersionMatch is forbidden unless resourceVersion is provided")
	}
	if opts.Continue != "" {
		if opts.ResourceVersion != "" && opts.ResourceVersion != "0" {
			return nil, apierrors.NewBadRequest("specifying resource version is not allowed when using continue")
		}
		start, crv, err := decodeContinue(opts.Continue, s.prefix)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		if !strings.HasPrefix(start, prefix) {
			return nil, apierrors.NewBadRequest("continue key is not valid: it does not belong to this list")
		}
		return s.listStorage(ctx, prefix, start, crv, opts.Limit, match, true)
	}
	exact := opts.ResourceVersionMatch == metav1.ResourceVersionMatchExact
	if exact && rv == 0 {
		return nil, apierrors.NewBadRequest("resourceVersionMatch \"Exact\" is forbidden for resourceVersion \"0\"")
	}
	if exact || (opts.Limit > 0 && opts.ResourceVersion != "0") {
		return s.listStorage(ctx, prefix, "", rv, opts.Limit, match, false)
	}
	if opts.ResourceVersion == "" {
		cur, err := s.storage.Revision(ctx)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		rv = cur
	}
	items, rev, err := s.cache.List(ctx, prefix, rv, match)
	if err != nil {
		return nil, apierrors.NewTimeoutError(err.Error(), 1)
	}
	return &ListResult{Items: items, Revision: rev}, nil
}

// listStorage reads a page from etcd at revision rev (0: latest), filling up to
// limit matching objects.
func (s *Store) listStorage(ctx context.Context, prefix, start string, rev, limit int64, match func(*watchcache.Object) bool, continuing bool) (*ListResult, error) {
	out := &ListResult{}
	batch := limit
	if match != nil && batch > 0 && batch < 500 {
		batch = 500
	}
	for {
		page, err := s.storage.List(ctx, prefix, start, rev, batch)
		if err != nil {
			var ce *storage.CompactedError
			if errors.As(err, &ce) {
				if continuing {
					return nil, apierrors.NewResourceExpired("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.")
				}
				return nil, apierrors.NewResourceExpired(fmt.Sprintf("The resourceVersion for the provided list is too old. (requested %d)", rev))
			}
			return nil, apierrors.NewInternalError(err)
		}
		rev = page.Revision
		out.Revision = rev
		for i, kv := range page.KVs {
			o, err := s.decodeCached(kv.Key, kv.Value, kv.ModRevision)
			if err != nil {
				return nil, apierrors.NewInternalError(err)
			}
			if match != nil && !match(o) {
				continue
			}
			out.Items = append(out.Items, o)
			if limit > 0 && int64(len(out.Items)) == limit {
				if i < len(page.KVs)-1 || page.More {
					out.Continue = encodeContinue(kv.Key+"\x00", s.prefix, rev)
					if match == nil && i == len(page.KVs)-1 {
						n, err := s.count(ctx, prefix, kv.Key+"\x00", rev)
						if err == nil {
							out.RemainingItemCount = &n
						}
					} else if match == nil {
						n := int64(len(page.KVs) - 1 - i)
						if page.More {
							if more, err := s.count(ctx, prefix, page.KVs[len(page.KVs)-1].Key+"\x00", rev); err == nil {
								n += more
							}
						}
						out.RemainingItemCount = &n
					}
				}
				return out, nil
			}
		}
		if !page.More || len(page.KVs) == 0 {
			return out, nil
		}
		start = page.KVs[len(page.KVs)-1].Key + "\x00"
	}
}

func (s *Store) count(ctx context.Context, prefix, start string, rev int64) (int64, error) {
	page, err := s.storage.List(ctx, prefix, start, rev, 0)
	if err != nil {
		return 0, err
	}
	return int64(len(page.KVs)), nil
}

// Watch starts a watch for opts. See ListOptions for the resourceVersion
// semantics: "" and "0" begin with the current objects as Added events, a
// version N streams the changes after N, and an N no longer available is a
// 410 Gone (apierrors.IsResourceExpired).
func (s *Store) Watch(ctx context.Context, opts ListOptions, bookmarks bool) (*watchcache.Watcher, error) {
	wo := watchcache.WatchOptions{Prefix: s.nsPrefix(opts.Namespace), Match: s.matcher(opts)}
	var rv int64
	if opts.ResourceVersion != "" {
		var err error
		if rv, err = parseRV(opts.ResourceVersion); err != nil {
			return nil, err
		}
	}
	initial := opts.ResourceVersion == "" || opts.ResourceVersion == "0"
	if opts.SendInitialEvents != nil {
		if opts.ResourceVersionMatch != metav1.ResourceVersionMatchNotOlderThan {
			return nil, apierrors.NewInvalid(metav1.SchemeGroupVersion.WithKind("ListOptions").GroupKind(), "", nil)
		}
		initial = *opts.SendInitialEvents
		wo.InitialEventsEnd = initial && bookmarks
	}
	if initial {
		if opts.ResourceVersion == "" {
			cur, err := s.storage.Revision(ctx)
			if err != nil {
				return nil, apierrors.NewInternalError(err)
			}
			rv = cur
		}
		if _, _, err := s.cache.Get(ctx, "", rv); err != nil {
			return nil, apierrors.NewTimeoutError(err.Error(), 1)
		}
		wo.Initial = true
	}
	wo.Rev = rv
	w, err := s.cache.Watch(ctx, wo)
	if errors.Is(err, watchcache.ErrTooOld) {
		return nil, apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %d", rv))
	}
	if err != nil {
		return nil, apierrors.NewTimeoutError(err.Error(), 1)
	}
	return w, nil
}
