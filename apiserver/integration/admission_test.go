package integration

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/apiserver/pkg/server"
	"navarch.dev/apiserver/testserver"
)

func busyboxPod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
}

// TestServiceAccountAdmission runs a server with the whole admission chain,
// as navarch-apiserver runs by default.
func TestServiceAccountAdmission(t *testing.T) {
	ts := testserver.Start(t, testserver.WithServiceAccountAdmission)
	ctx := testContext(t)
	cs := ts.Client
	ns := "sa-admission"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// No controller-manager: the namespace has no default account yet.
	_, err := cs.CoreV1().Pods(ns).Create(ctx, busyboxPod("early"), metav1.CreateOptions{})
	want := `pods "early" is forbidden: error looking up service account sa-admission/default: serviceaccount "default" not found`
	if !apierrors.IsForbidden(err) || err.Error() != want {
		t.Fatalf("pod without a default account: %v, want Forbidden %q", err, want)
	}

	// A mirror pod needs no account and is stored as the kubelet sent it.
	mirror := busyboxPod("static-node1")
	mirror.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "abc"}
	got, err := cs.CoreV1().Pods(ns).Create(ctx, mirror, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("mirror pod: %v", err)
	}
	if got.Spec.ServiceAccountName != "" || len(got.Spec.Volumes) != 0 {
		t.Errorf("mirror pod got account %q and volumes %v", got.Spec.ServiceAccountName, got.Spec.Volumes)
	}

	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, busyboxPod("plain"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod, err := cs.CoreV1().Pods(ns).Get(ctx, "plain", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pod.Spec.ServiceAccountName != "default" {
		t.Errorf("serviceAccountName %q, want default", pod.Spec.ServiceAccountName)
	}
	if len(pod.Spec.Volumes) != 1 || !strings.HasPrefix(pod.Spec.Volumes[0].Name, "kube-api-access-") || pod.Spec.Volumes[0].Projected == nil {
		t.Fatalf("volumes %+v, want one projected kube-api-access- volume", pod.Spec.Volumes)
	}
	m := pod.Spec.Containers[0].VolumeMounts
	if len(m) != 1 || m[0].Name != pod.Spec.Volumes[0].Name || m[0].MountPath != "/var/run/secrets/kubernetes.io/serviceaccount" || !m[0].ReadOnly {
		t.Errorf("mounts %+v, want the token volume read-only at /var/run/secrets/kubernetes.io/serviceaccount", m)
	}

	// The account of a pod cannot change.
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "other"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod.Spec.ServiceAccountName = "other"
	pod.Spec.DeprecatedServiceAccount = "other"
	if _, err := cs.CoreV1().Pods(ns).Update(ctx, pod, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.serviceAccountName") {
		t.Errorf("changing serviceAccountName: %v, want Invalid naming spec.serviceAccountName", err)
	}

	// A named account that does not exist.
	named := busyboxPod("named")
	named.Spec.ServiceAccountName = "builder"
	_, err = cs.CoreV1().Pods(ns).Create(ctx, named, metav1.CreateOptions{})
	if want := `error looking up service account sa-admission/builder: serviceaccount "builder" not found`; !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), want) {
		t.Errorf("pod naming a missing account: %v, want Forbidden %q", err, want)
	}
}

// TestTestServerWithoutServiceAccountAdmission: the bare test server admits
// pods in namespaces without accounts, and leaves them without a token.
func TestTestServerWithoutServiceAccountAdmission(t *testing.T) {
	ctx := testContext(t)
	cs := shared.Client
	ns := "no-sa-admission"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod, err := cs.CoreV1().Pods(ns).Create(ctx, busyboxPod("p"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pod.Spec.Volumes) != 0 {
		t.Errorf("volumes %v, want none", pod.Spec.Volumes)
	}
}

func TestAdmissionPluginFlags(t *testing.T) {
	tests := []struct {
		name string
		set  func(o *server.Options)
		want string
	}{
		{"unknown plugin", func(o *server.Options) { o.EnableAdmissionPlugins = []string{"AlwaysPullImages"} },
			`--enable-admission-plugins: plugin "AlwaysPullImages" is unknown`},
		{"unknown disabled plugin", func(o *server.Options) { o.DisableAdmissionPlugins = []string{"Nope"} },
			`--disable-admission-plugins: plugin "Nope" is unknown`},
		{"both lists", func(o *server.Options) {
			o.EnableAdmissionPlugins = []string{"ServiceAccount"}
			o.DisableAdmissionPlugins = []string{"ServiceAccount"}
		}, `"ServiceAccount" is in both`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts, err := testserver.StartE(t.TempDir(), tc.set)
			if err == nil {
				ts.Stop()
				t.Fatal("server started")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
