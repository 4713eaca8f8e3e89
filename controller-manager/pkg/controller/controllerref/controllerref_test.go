package controllerref

import (
	"context"
	"errors"
	"slices"
	"testing"

	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
)

var rsKind = apps.SchemeGroupVersion.WithKind("ReplicaSet")

type rsOpt func(*apps.ReplicaSet)

func rsDeleting(rs *apps.ReplicaSet) {
	now := metav1.Now()
	rs.DeletionTimestamp = &now
	rs.Finalizers = []string{metav1.FinalizerDeleteDependents}
}

func newRS(name, uid string, opts ...rsOpt) *apps.ReplicaSet {
	rs := &apps.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID(uid)}}
	for _, o := range opts {
		o(rs)
	}
	return rs
}

type podOpt func(*v1.Pod)

func ownedBy(rs *apps.ReplicaSet) podOpt {
	return func(p *v1.Pod) { p.OwnerReferences = append(p.OwnerReferences, *NewControllerRef(rs, rsKind)) }
}

// alsoOwnedBy adds a reference that is not the controller's, as a user
// might.
func alsoOwnedBy(name, uid string) podOpt {
	return func(p *v1.Pod) {
		p.OwnerReferences = append(p.OwnerReferences, metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: name, UID: types.UID(uid)})
	}
}

func podDeleting(p *v1.Pod) {
	now := metav1.Now()
	p.DeletionTimestamp = &now
}

func newPod(name, app string, opts ...podOpt) *v1.Pod {
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name), Labels: map[string]string{"app": app}}}
	for _, o := range opts {
		o(p)
	}
	return p
}

// newManager claims pods for rs (as read from the cache) through client,
// re-reading the owner from client before adopting, as the ReplicaSet
// controller does.
func newManager(client *fake.Clientset, rs *apps.ReplicaSet) *Manager[*v1.Pod] {
	return &Manager[*v1.Pod]{
		Owner:    rs,
		OwnerGVK: rsKind,
		Selector: labels.SelectorFromSet(labels.Set{"app": "web"}),
		CanAdopt: RecheckDeletionTimestamp(rs.UID, func(ctx context.Context) (metav1.Object, error) {
			return client.AppsV1().ReplicaSets(rs.Namespace).Get(ctx, rs.Name, metav1.GetOptions{})
		}),
		Patch: func(ctx context.Context, ns, name string, patch []byte) error {
			_, err := client.CoreV1().Pods(ns).Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
			return err
		},
	}
}

// owners reports the owner uids of the live pod, sorted, the controller's
// marked with a star.
func owners(t *testing.T, client *fake.Clientset, name string) []string {
	t.Helper()
	p, err := client.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range p.OwnerReferences {
		s := string(r.UID)
		if r.Controller != nil && *r.Controller {
			s += "*"
			if r.BlockOwnerDeletion == nil || !*r.BlockOwnerDeletion || r.Kind != "ReplicaSet" || r.APIVersion != "apps/v1" || r.Name == "" {
				t.Errorf("pod %s: controller ref %+v does not name a ReplicaSet blocking its deletion", name, r)
			}
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

func TestClaim(t *testing.T) {
	web := newRS("web", "uid-web")
	webDeleting := newRS("web", "uid-web", rsDeleting)
	other := newRS("other", "uid-other")
	tests := []struct {
		name string
		// owner as the controller's cache has it; apiOwner as the API
		// has it (nil: the same).
		owner, apiOwner *apps.ReplicaSet
		pods            []*v1.Pod
		// missing pods are listed from the cache but gone from the API.
		missing     []*v1.Pod
		patchErr    error
		wantClaimed []string
		wantOwners  map[string][]string
		wantErr     bool
	}{
		{
			name:        "adopts a matching orphan",
			owner:       web,
			pods:        []*v1.Pod{newPod("orphan", "web")},
			wantClaimed: []string{"orphan"},
			wantOwners:  map[string][]string{"orphan": {"uid-web*"}},
		},
		{
			name:        "adoption keeps the orphan's other owners",
			owner:       web,
			pods:        []*v1.Pod{newPod("orphan", "web", alsoOwnedBy("cm", "uid-cm"))},
			wantClaimed: []string{"orphan"},
			wantOwners:  map[string][]string{"orphan": {"uid-cm", "uid-web*"}},
		},
		{
			name:        "keeps its matching children as they are",
			owner:       web,
			pods:        []*v1.Pod{newPod("child", "web", ownedBy(web))},
			wantClaimed: []string{"child"},
			wantOwners:  map[string][]string{"child": {"uid-web*"}},
		},
		{
			name:       "releases a child whose labels no longer match, keeping its other owners",
			owner:      web,
			pods:       []*v1.Pod{newPod("relabeled", "db", ownedBy(web), alsoOwnedBy("cm", "uid-cm"))},
			wantOwners: map[string][]string{"relabeled": {"uid-cm"}},
		},
		{
			name:       "leaves another controller's children alone",
			owner:      web,
			pods:       []*v1.Pod{newPod("foreign", "web", ownedBy(other))},
			wantOwners: map[string][]string{"foreign": {"uid-other*"}},
		},
		{
			name:       "does not adopt orphans that do not match or are terminating",
			owner:      web,
			pods:       []*v1.Pod{newPod("db", "db"), newPod("going", "web", podDeleting)},
			wantOwners: map[string][]string{"db": nil, "going": nil},
		},
		{
			name:        "an owner being deleted neither adopts nor releases",
			owner:       webDeleting,
			pods:        []*v1.Pod{newPod("orphan", "web"), newPod("relabeled", "db", ownedBy(web)), newPod("child", "web", ownedBy(web))},
			wantClaimed: []string{"child"},
			wantOwners:  map[string][]string{"orphan": nil, "relabeled": {"uid-web*"}, "child": {"uid-web*"}},
		},
		{
			name:       "does not adopt when the API says the owner is being deleted",
			owner:      web,
			apiOwner:   webDeleting,
			pods:       []*v1.Pod{newPod("orphan", "web"), newPod("child", "web", ownedBy(web))},
			wantErr:    true,
			wantOwners: map[string][]string{"orphan": nil},
			// Children it already controls are still its own.
			wantClaimed: []string{"child"},
		},
		{
			name:       "does not adopt for an owner replaced by a namesake",
			owner:      web,
			apiOwner:   newRS("web", "uid-web-2"),
			pods:       []*v1.Pod{newPod("orphan", "web")},
			wantErr:    true,
			wantOwners: map[string][]string{"orphan": nil},
		},
		{
			name:    "skips children that vanished meanwhile",
			owner:   web,
			missing: []*v1.Pod{newPod("gone-orphan", "web"), newPod("gone-relabeled", "db", ownedBy(web))},
		},
		{
			name:     "a failed adoption is an error",
			owner:    web,
			pods:     []*v1.Pod{newPod("orphan", "web")},
			patchErr: apierrors.NewInternalError(errors.New("etcd unavailable")),
			wantErr:  true,
		},
		{
			// The apiserver refuses the patch of a child being deleted.
			name:       "a child that cannot be released is not an error",
			owner:      web,
			pods:       []*v1.Pod{newPod("relabeled", "db", ownedBy(web))},
			patchErr:   apierrors.NewInvalid(schema.GroupKind{Kind: "Pod"}, "relabeled", nil),
			wantOwners: map[string][]string{"relabeled": {"uid-web*"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			apiOwner := tt.apiOwner
			if apiOwner == nil {
				apiOwner = tt.owner
			}
			objs := []runtime.Object{apiOwner}
			for _, p := range tt.pods {
				objs = append(objs, p)
			}
			client := fake.NewClientset(objs...)
			if tt.patchErr != nil {
				client.PrependReactor("patch", "pods", func(clienttesting.Action) (bool, runtime.Object, error) {
					return true, nil, tt.patchErr
				})
			}
			claimed, err := newManager(client, tt.owner).Claim(context.Background(), append(slices.Clone(tt.pods), tt.missing...))
			if (err != nil) != tt.wantErr {
				t.Errorf("Claim() error = %v, wantErr %v", err, tt.wantErr)
			}
			var names []string
			for _, p := range claimed {
				names = append(names, p.Name)
			}
			if !slices.Equal(names, tt.wantClaimed) {
				t.Errorf("claimed %v, want %v", names, tt.wantClaimed)
			}
			for name, want := range tt.wantOwners {
				if got := owners(t, client, name); !slices.Equal(got, want) {
					t.Errorf("pod %s owners = %v, want %v", name, got, want)
				}
			}
		})
	}
}

// CanAdopt re-reads the owner once per Claim, however many orphans there
// are.
func TestClaimChecksOwnerOnce(t *testing.T) {
	web := newRS("web", "uid-web")
	pods := []*v1.Pod{newPod("a", "web"), newPod("b", "web"), newPod("c", "web")}
	client := fake.NewClientset(web, pods[0], pods[1], pods[2])
	claimed, err := newManager(client, web).Claim(context.Background(), pods)
	if err != nil || len(claimed) != 3 {
		t.Fatalf("Claim() = %d pods, %v; want 3 pods", len(claimed), err)
	}
	gets := 0
	for _, a := range client.Actions() {
		if a.GetVerb() == "get" && a.GetResource().Resource == "replicasets" {
			gets++
		}
	}
	if gets != 1 {
		t.Errorf("owner read %d times, want 1", gets)
	}
}

func TestRecheckDeletionTimestamp(t *testing.T) {
	tests := []struct {
		name    string
		fresh   *apps.ReplicaSet
		getErr  error
		wantErr bool
	}{
		{name: "the same live owner may adopt", fresh: newRS("web", "uid-web")},
		{name: "an owner being deleted may not", fresh: newRS("web", "uid-web", rsDeleting), wantErr: true},
		{name: "a replaced owner may not", fresh: newRS("web", "uid-web-2"), wantErr: true},
		{name: "an unreadable owner may not", getErr: apierrors.NewNotFound(schema.GroupResource{Group: "apps", Resource: "replicasets"}, "web"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check := RecheckDeletionTimestamp("uid-web", func(context.Context) (metav1.Object, error) {
				if tt.getErr != nil {
					return nil, tt.getErr
				}
				return tt.fresh, nil
			})
			if err := check(context.Background()); (err != nil) != tt.wantErr {
				t.Errorf("check() error = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}
