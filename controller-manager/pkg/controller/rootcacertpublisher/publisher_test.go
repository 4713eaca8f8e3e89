package rootcacertpublisher

import (
	"context"
	"fmt"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
)

const bundle = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

func namespace(name string, phase v1.NamespacePhase) *v1.Namespace {
	return &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: v1.NamespaceStatus{Phase: phase}}
}

// start runs a publisher of bundle over a fake clientset holding objs.
func start(t *testing.T, objs ...runtime.Object) kubernetes.Interface {
	t.Helper()
	client := fake.NewClientset(objs...)
	f := informers.NewSharedInformerFactory(client, 0)
	p, err := New(f.Core().V1().Namespaces(), f.Core().V1().ConfigMaps(), client, []byte(bundle))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.Start(ctx.Done())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(ctx, 1)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		f.Shutdown()
	})
	return client
}

// published waits until ns holds the ConfigMap as the publisher writes it.
func published(t *testing.T, client kubernetes.Interface, ns string) *v1.ConfigMap {
	t.Helper()
	var cm *v1.ConfigMap
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		var err error
		cm, err = client.CoreV1().ConfigMaps(ns).Get(ctx, ConfigMapName, metav1.GetOptions{})
		if err != nil {
			last = err
			return false, nil
		}
		if len(cm.Data) != 1 || cm.Data["ca.crt"] != bundle || len(cm.BinaryData) != 0 || cm.Annotations["kubernetes.io/description"] != Description {
			last = fmt.Errorf("data %v binaryData %v annotations %v", cm.Data, cm.BinaryData, cm.Annotations)
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("%s/%s not published: %v", ns, ConfigMapName, last)
	}
	return cm
}

func TestPublishesInEveryNamespace(t *testing.T) {
	client := start(t, namespace("default", v1.NamespaceActive), namespace("kube-system", v1.NamespaceActive))
	for _, ns := range []string{"default", "kube-system"} {
		published(t, client, ns)
	}
	// A namespace made later gets it too.
	if _, err := client.CoreV1().Namespaces().Create(context.Background(), namespace("team-a", v1.NamespaceActive), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	published(t, client, "team-a")
}

func TestRecreatesDeleted(t *testing.T) {
	client := start(t, namespace("team-a", v1.NamespaceActive))
	published(t, client, "team-a")
	// The fake clientset deletes at once: what is found next was made again.
	if err := client.CoreV1().ConfigMaps("team-a").Delete(context.Background(), ConfigMapName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	published(t, client, "team-a")
}

func TestRepairsEdits(t *testing.T) {
	tests := []struct {
		name string
		edit func(cm *v1.ConfigMap)
	}{
		{name: "changed bundle", edit: func(cm *v1.ConfigMap) { cm.Data["ca.crt"] = "not a CA" }},
		{name: "extra key", edit: func(cm *v1.ConfigMap) { cm.Data["extra"] = "x" }},
		{name: "binary data", edit: func(cm *v1.ConfigMap) { cm.BinaryData = map[string][]byte{"ca.der": {1}} }},
		{name: "description removed", edit: func(cm *v1.ConfigMap) { delete(cm.Annotations, DescriptionAnnotation) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := start(t, namespace("team-a", v1.NamespaceActive))
			cm := published(t, client, "team-a").DeepCopy()
			tt.edit(cm)
			if _, err := client.CoreV1().ConfigMaps("team-a").Update(context.Background(), cm, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			published(t, client, "team-a")
		})
	}
}

func TestLeavesExistingAndTerminating(t *testing.T) {
	other := &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "app-config", Namespace: "team-a"}, Data: map[string]string{"k": "v"}}
	gone := namespace("going", v1.NamespaceTerminating)
	now := metav1.Now()
	gone.DeletionTimestamp = &now
	client := start(t, namespace("team-a", v1.NamespaceActive), gone, other)
	published(t, client, "team-a")
	// Other ConfigMaps are left alone; a terminating namespace gets none.
	got, err := client.CoreV1().ConfigMaps("team-a").Get(context.Background(), "app-config", metav1.GetOptions{})
	if err != nil || got.Data["k"] != "v" || len(got.Data) != 1 {
		t.Errorf("app-config = %v, %v; want it unchanged", got, err)
	}
	// team-a is synced; give the terminating namespace's key the same
	// chance by publishing in a namespace made after it.
	if _, err := client.CoreV1().Namespaces().Create(context.Background(), namespace("later", v1.NamespaceActive), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	published(t, client, "later")
	if _, err := client.CoreV1().ConfigMaps("going").Get(context.Background(), ConfigMapName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("terminating namespace: get %s = %v, want NotFound", ConfigMapName, err)
	}
}
