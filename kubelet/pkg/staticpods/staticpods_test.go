package staticpods

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

const manifest = `apiVersion: v1
kind: Pod
metadata: {name: etcd, namespace: kube-system}
spec:
  containers: [{name: etcd, image: %s}]
`

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	s := New(dir, "n1")
	steps := []struct {
		name        string
		do          func()
		wantChanged []string
		wantImage   string
	}{
		{name: "add", do: func() { write(t, dir, "etcd.yaml", fmt.Sprintf(manifest, "etcd:1")) }, wantChanged: []string{"kube-system/etcd-n1"}, wantImage: "etcd:1"},
		{name: "unchanged", do: func() {}, wantImage: "etcd:1"},
		{name: "broken file keeps the pod", do: func() { write(t, dir, "etcd.yaml", "{not yaml") }, wantImage: "etcd:1"},
		{name: "change", do: func() { write(t, dir, "etcd.yaml", fmt.Sprintf(manifest, "etcd:2")) }, wantChanged: []string{"kube-system/etcd-n1"}, wantImage: "etcd:2"},
		{name: "dotfiles ignored", do: func() { write(t, dir, ".etcd.yaml.swp", "junk") }, wantImage: "etcd:2"},
		{name: "remove", do: func() { os.Remove(filepath.Join(dir, "etcd.yaml")) }, wantChanged: []string{"kube-system/etcd-n1"}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.do()
			changed, err := s.Load()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(changed, st.wantChanged) {
				t.Errorf("changed = %v, want %v", changed, st.wantChanged)
			}
			p, _ := s.Get("kube-system/etcd-n1")
			if st.wantImage == "" {
				if p != nil {
					t.Errorf("pod still there: %v", p.Name)
				}
				return
			}
			if p == nil || p.Spec.Containers[0].Image != st.wantImage {
				t.Fatalf("pod = %+v, want image %s", p, st.wantImage)
			}
			if p.Spec.NodeName != "n1" || string(p.UID) != p.Annotations[AnnotationHash] || p.Annotations[AnnotationSource] != "file" {
				t.Errorf("static pod metadata: node %q uid %q annotations %v", p.Spec.NodeName, p.UID, p.Annotations)
			}
		})
	}
}

func TestMergedAndMirrors(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "etcd.yaml", fmt.Sprintf(manifest, "etcd:1"))
	s := New(dir, "n1")
	if _, err := s.Load(); err != nil {
		t.Fatal(err)
	}
	stale := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "gone-n1", Namespace: "default", Annotations: map[string]string{AnnotationMirror: "old"}}, Spec: v1.PodSpec{NodeName: "n1"}}
	regular := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}, Spec: v1.PodSpec{NodeName: "n1"}}
	client := fake.NewClientset(stale, regular, &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", UID: "node-uid"}})
	m := &Mirrors{Static: s, Client: client, NodeName: "n1"}
	if err := m.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	mirror, err := client.CoreV1().Pods("kube-system").Get(ctx, "etcd-n1", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("mirror pod: %v", err)
	}
	static, _ := s.Get("kube-system/etcd-n1")
	if mirror.Annotations[AnnotationMirror] != static.Annotations[AnnotationHash] || len(mirror.OwnerReferences) != 1 || mirror.OwnerReferences[0].Kind != "Node" {
		t.Errorf("mirror = annotations %v owners %v", mirror.Annotations, mirror.OwnerReferences)
	}
	if _, err := client.CoreV1().Pods("default").Get(ctx, "gone-n1", metav1.GetOptions{}); err == nil {
		t.Error("mirror of a removed static pod was kept")
	}

	api := &fakeSource{pods: []*v1.Pod{mirror, regular}}
	merged := &Merged{Static: s, API: api}
	list, _ := merged.List()
	var names []string
	for _, p := range list {
		names = append(names, p.Namespace+"/"+p.Name+"/"+string(p.UID))
	}
	want := []string{"kube-system/etcd-n1/" + string(static.UID), "default/web/"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("merged list = %v, want %v (the static pod, not its mirror)", names, want)
	}
}

type fakeSource struct{ pods []*v1.Pod }

func (f *fakeSource) Get(key string) (*v1.Pod, error) {
	for _, p := range f.pods {
		if p.Namespace+"/"+p.Name == key {
			return p.DeepCopy(), nil
		}
	}
	return nil, nil
}

func (f *fakeSource) List() ([]*v1.Pod, error) { return f.pods, nil }

// unsyncedSource is an API source that cannot list yet.
type unsyncedSource struct{}

var errUnsynced = errors.New("not synced")

func (unsyncedSource) Get(string) (*v1.Pod, error) { return nil, nil }
func (unsyncedSource) List() ([]*v1.Pod, error)    { return nil, errUnsynced }

// TestMergedListBeforeAPISync: before the API's pods are known, List says
// so (housekeeping must not take API pods for orphans) but still hands out
// the static pods (the node's own API and stats show them).
func TestMergedListBeforeAPISync(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "etcd.yaml", fmt.Sprintf(manifest, "etcd:1"))
	s := New(dir, "n1")
	if _, err := s.Load(); err != nil {
		t.Fatal(err)
	}
	pods, err := (&Merged{Static: s, API: unsyncedSource{}}).List()
	if !errors.Is(err, errUnsynced) {
		t.Errorf("List error = %v, want the API source's", err)
	}
	if len(pods) != 1 || pods[0].Name != "etcd-n1" {
		t.Errorf("List pods = %v, want the static pod etcd-n1", pods)
	}
}
