package serviceaccount

import (
	"context"
	"regexp"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/apiserver/pkg/registry"
	"navarch.dev/apiserver/pkg/registry/core"
)

// accounts is a fake ServiceAccounts; lookups counts the calls, and
// appearAfter makes an account visible only from that lookup on (the
// controller-manager creating "default" a moment after the namespace).
type accounts struct {
	list        []*corev1.ServiceAccount
	lookups     int
	appearAfter int
}

func (a *accounts) ServiceAccount(_ context.Context, ns, name string) (*corev1.ServiceAccount, error) {
	a.lookups++
	if a.lookups <= a.appearAfter {
		return nil, nil
	}
	for _, sa := range a.list {
		if sa.Namespace == ns && sa.Name == name {
			return sa, nil
		}
	}
	return nil, nil
}

func sa(name string, opts ...func(*corev1.ServiceAccount)) *corev1.ServiceAccount {
	s := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns1"}}
	for _, o := range opts {
		o(s)
	}
	return s
}

func automountSA(b bool) func(*corev1.ServiceAccount) {
	return func(s *corev1.ServiceAccount) { s.AutomountServiceAccountToken = &b }
}

type podOpt func(*corev1.Pod)

func makePod(opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns1"},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "init", Image: "busybox"}},
			Containers:     []corev1.Container{{Name: "a", Image: "busybox"}, {Name: "b", Image: "busybox"}},
		},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func account(name string) podOpt { return func(p *corev1.Pod) { p.Spec.ServiceAccountName = name } }
func automountPod(b bool) podOpt {
	return func(p *corev1.Pod) { p.Spec.AutomountServiceAccountToken = &b }
}
func mirror() podOpt {
	return func(p *corev1.Pod) {
		p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "hash"}
	}
}
func volume(v corev1.Volume) podOpt {
	return func(p *corev1.Pod) { p.Spec.Volumes = append(p.Spec.Volumes, v) }
}
func mountIn(container int, m corev1.VolumeMount) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.Containers[container].VolumeMounts = append(p.Spec.Containers[container].VolumeMounts, m)
	}
}
func env(e corev1.EnvVar) podOpt {
	return func(p *corev1.Pod) { p.Spec.Containers[0].Env = append(p.Spec.Containers[0].Env, e) }
}

func podsResource() *registry.Resource {
	for _, r := range core.Resources() {
		if r.Plural == "pods" {
			return r
		}
	}
	panic("no pods resource")
}

func admit(p *Plugin, op string, pod *corev1.Pod) error {
	return p.Admit(context.Background(), &registry.AdmissionAttributes{
		Operation: op, Resource: podsResource(), Namespace: pod.Namespace, Name: pod.Name, Object: pod,
	})
}

// tokenVolumes returns the pod's kube-api-access volumes.
func tokenVolumes(pod *corev1.Pod) []corev1.Volume {
	var out []corev1.Volume
	for _, v := range pod.Spec.Volumes {
		if regexp.MustCompile(`^kube-api-access-`).MatchString(v.Name) {
			out = append(out, v)
		}
	}
	return out
}

// tokenMounts counts the containers (init ones too) mounting name at the
// service account path, read-only.
func tokenMounts(pod *corev1.Pod, name string) int {
	n := 0
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range list {
			for _, m := range c.VolumeMounts {
				if m.Name == name && m.MountPath == "/var/run/secrets/kubernetes.io/serviceaccount" && m.ReadOnly {
					n++
				}
			}
		}
	}
	return n
}

func TestTokenVolumeAdded(t *testing.T) {
	p := &Plugin{Accounts: &accounts{list: []*corev1.ServiceAccount{sa("default")}}}
	pod := makePod()
	if err := admit(p, "CREATE", pod); err != nil {
		t.Fatal(err)
	}
	if pod.Spec.ServiceAccountName != "default" || pod.Spec.DeprecatedServiceAccount != "default" {
		t.Errorf("serviceAccountName %q serviceAccount %q, want default", pod.Spec.ServiceAccountName, pod.Spec.DeprecatedServiceAccount)
	}
	vols := tokenVolumes(pod)
	if len(vols) != 1 {
		t.Fatalf("token volumes %+v, want one", pod.Spec.Volumes)
	}
	if !regexp.MustCompile(`^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$`).MatchString(vols[0].Name) {
		t.Errorf("volume name %q, want kube-api-access-<5 random characters>", vols[0].Name)
	}
	mode, exp := int32(0o644), int64(3607)
	want := &corev1.ProjectedVolumeSource{
		DefaultMode: &mode,
		Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: &exp}},
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"},
				Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{
				Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}}}},
		},
	}
	if !equality.Semantic.DeepEqual(vols[0].Projected, want) {
		t.Errorf("projection\n%+v\nwant\n%+v", vols[0].Projected, want)
	}
	if n := tokenMounts(pod, vols[0].Name); n != 3 {
		t.Errorf("%d containers mount the token, want all 3 (init container included): %+v", n, pod.Spec)
	}

	// Two pods get different volume names.
	other := makePod()
	if err := admit(p, "CREATE", other); err != nil {
		t.Fatal(err)
	}
	if tokenVolumes(other)[0].Name == vols[0].Name {
		t.Errorf("two pods got the same volume name %q", vols[0].Name)
	}
}

func TestAutomountAndMounts(t *testing.T) {
	custom := corev1.VolumeMount{Name: "mine", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount"}
	mineVol := corev1.Volume{Name: "mine", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
	tests := []struct {
		name        string
		accounts    []*corev1.ServiceAccount
		pod         *corev1.Pod
		wantAccount string
		wantVolume  bool
		wantMounts  int
	}{
		{name: "named account", accounts: []*corev1.ServiceAccount{sa("builder")}, pod: makePod(account("builder")),
			wantAccount: "builder", wantVolume: true, wantMounts: 3},
		{name: "pod says no", accounts: []*corev1.ServiceAccount{sa("default")}, pod: makePod(automountPod(false)),
			wantAccount: "default"},
		{name: "account says no", accounts: []*corev1.ServiceAccount{sa("default", automountSA(false))}, pod: makePod(),
			wantAccount: "default"},
		{name: "pod says yes over the account's no", accounts: []*corev1.ServiceAccount{sa("default", automountSA(false))},
			pod: makePod(automountPod(true)), wantAccount: "default", wantVolume: true, wantMounts: 3},
		{name: "account says yes", accounts: []*corev1.ServiceAccount{sa("default", automountSA(true))}, pod: makePod(),
			wantAccount: "default", wantVolume: true, wantMounts: 3},
		{name: "container mounting the path keeps its mount", accounts: []*corev1.ServiceAccount{sa("default")},
			pod: makePod(volume(mineVol), mountIn(0, custom)), wantAccount: "default", wantVolume: true, wantMounts: 2},
		{name: "every container mounting the path: no volume", accounts: []*corev1.ServiceAccount{sa("default")},
			pod: func() *corev1.Pod {
				p := makePod(volume(mineVol), mountIn(0, custom), mountIn(1, custom))
				p.Spec.InitContainers = nil
				return p
			}(), wantAccount: "default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Plugin{Accounts: &accounts{list: tt.accounts}}
			if err := admit(p, "CREATE", tt.pod); err != nil {
				t.Fatal(err)
			}
			if tt.pod.Spec.ServiceAccountName != tt.wantAccount {
				t.Errorf("serviceAccountName %q, want %q", tt.pod.Spec.ServiceAccountName, tt.wantAccount)
			}
			vols := tokenVolumes(tt.pod)
			if got := len(vols) == 1; got != tt.wantVolume || len(vols) > 1 {
				t.Fatalf("token volumes %+v, want one: %v", vols, tt.wantVolume)
			}
			if tt.wantVolume {
				if n := tokenMounts(tt.pod, vols[0].Name); n != tt.wantMounts {
					t.Errorf("%d containers mount the token, want %d", n, tt.wantMounts)
				}
			}
			if c := tt.pod.Spec.Containers[0]; len(c.VolumeMounts) > 0 && c.VolumeMounts[0] == custom && len(c.VolumeMounts) != 1 {
				t.Errorf("container with its own mount at the path got another: %+v", c.VolumeMounts)
			}
		})
	}
}

func TestExistingTokenVolumeReused(t *testing.T) {
	p := &Plugin{Accounts: &accounts{list: []*corev1.ServiceAccount{sa("default")}}}
	pod := makePod(volume(corev1.Volume{Name: "kube-api-access-abcde", VolumeSource: corev1.VolumeSource{Projected: TokenVolumeSource()}}))
	if err := admit(p, "CREATE", pod); err != nil {
		t.Fatal(err)
	}
	if vols := tokenVolumes(pod); len(vols) != 1 || vols[0].Name != "kube-api-access-abcde" {
		t.Fatalf("token volumes %+v, want only the pod's own", vols)
	}
	if n := tokenMounts(pod, "kube-api-access-abcde"); n != 3 {
		t.Errorf("%d containers mount the pod's volume, want 3", n)
	}
}

func TestImagePullSecretsFromAccount(t *testing.T) {
	withSecrets := sa("default", func(s *corev1.ServiceAccount) {
		s.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "regcred"}}
	})
	p := &Plugin{Accounts: &accounts{list: []*corev1.ServiceAccount{withSecrets}}}
	pod := makePod()
	if err := admit(p, "CREATE", pod); err != nil {
		t.Fatal(err)
	}
	if len(pod.Spec.ImagePullSecrets) != 1 || pod.Spec.ImagePullSecrets[0].Name != "regcred" {
		t.Errorf("imagePullSecrets %v, want the account's regcred", pod.Spec.ImagePullSecrets)
	}
	own := makePod(func(p *corev1.Pod) { p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "mine"}} })
	if err := admit(p, "CREATE", own); err != nil {
		t.Fatal(err)
	}
	if len(own.Spec.ImagePullSecrets) != 1 || own.Spec.ImagePullSecrets[0].Name != "mine" {
		t.Errorf("imagePullSecrets %v, want the pod's own", own.Spec.ImagePullSecrets)
	}
}

func TestMissingAccount(t *testing.T) {
	tests := []struct {
		name        string
		pod         *corev1.Pod
		appearAfter int
		wantErr     string
		wantLookups int
	}{
		{name: "named account missing", pod: makePod(account("builder")),
			wantErr: `pods "p" is forbidden: error looking up service account ns1/builder: serviceaccount "builder" not found`, wantLookups: 1},
		{name: "default missing after every lookup", pod: makePod(),
			wantErr: `pods "p" is forbidden: error looking up service account ns1/default: serviceaccount "default" not found`, wantLookups: 4},
		{name: "default created during the lookups", pod: makePod(), appearAfter: 2, wantLookups: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acc := &accounts{appearAfter: tt.appearAfter}
			if tt.wantErr == "" {
				acc.list = []*corev1.ServiceAccount{sa("default")}
			}
			p := &Plugin{Accounts: acc, DefaultLookups: 4, RetryInterval: time.Millisecond}
			err := admit(p, "CREATE", tt.pod)
			if tt.wantErr != "" {
				if !apierrors.IsForbidden(err) || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want Forbidden %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if acc.lookups != tt.wantLookups {
				t.Errorf("%d lookups, want %d", acc.lookups, tt.wantLookups)
			}
		})
	}
}

func TestMirrorPods(t *testing.T) {
	tokenProjection := corev1.Volume{Name: "tok", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}}}}}}
	tests := []struct {
		name    string
		pod     *corev1.Pod
		wantErr string
	}{
		{name: "plain mirror pod left as it is", pod: makePod(mirror(), volume(corev1.Volume{Name: "h",
			VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/etc/navarch"}}}))},
		{name: "service account", pod: makePod(mirror(), account("default")), wantErr: "a mirror pod may not reference service accounts"},
		{name: "secret volume", pod: makePod(mirror(), volume(corev1.Volume{Name: "s",
			VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}})), wantErr: "a mirror pod may not reference secrets"},
		{name: "secret env", pod: makePod(mirror(), env(corev1.EnvVar{Name: "X", ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "k"}}})),
			wantErr: "a mirror pod may not reference secrets"},
		{name: "configmap volume", pod: makePod(mirror(), volume(corev1.Volume{Name: "c",
			VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "c"}}}})),
			wantErr: "a mirror pod may not reference configmaps"},
		{name: "configmap env", pod: makePod(mirror(), env(corev1.EnvVar{Name: "X", ValueFrom: &corev1.EnvVarSource{
			ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "c"}, Key: "k"}}})),
			wantErr: "a mirror pod may not reference configmaps"},
		{name: "token projection", pod: makePod(mirror(), volume(tokenProjection)),
			wantErr: "a mirror pod may not use ServiceAccountToken volume projections"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// No account exists: a mirror pod never needs one.
			p := &Plugin{Accounts: &accounts{}, DefaultLookups: 1}
			before := tt.pod.DeepCopy()
			err := admit(p, "CREATE", tt.pod)
			if tt.wantErr != "" {
				want := `pods "p" is forbidden: ` + tt.wantErr
				if !apierrors.IsForbidden(err) || err.Error() != want {
					t.Fatalf("err = %v, want Forbidden %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !equality.Semantic.DeepEqual(before, tt.pod) {
				t.Errorf("mirror pod changed:\n%+v\nwas\n%+v", tt.pod.Spec, before.Spec)
			}
		})
	}
}

func TestOnlyPodCreate(t *testing.T) {
	acc := &accounts{}
	p := &Plugin{Accounts: acc, DefaultLookups: 1}
	pod := makePod()
	if err := admit(p, "UPDATE", pod); err != nil {
		t.Errorf("update: %v", err)
	}
	err := p.Admit(context.Background(), &registry.AdmissionAttributes{
		Operation: "UPDATE", Subresource: "status", Resource: podsResource(), Namespace: "ns1", Name: "p", Object: pod})
	if err != nil {
		t.Errorf("status update: %v", err)
	}
	var cm *registry.Resource
	for _, r := range core.Resources() {
		if r.Plural == "configmaps" {
			cm = r
		}
	}
	if err := p.Admit(context.Background(), &registry.AdmissionAttributes{Operation: "CREATE", Resource: cm, Namespace: "ns1", Name: "c",
		Object: &corev1.ConfigMap{}}); err != nil {
		t.Errorf("configmap create: %v", err)
	}
	if pod.Spec.ServiceAccountName != "" || len(pod.Spec.Volumes) != 0 || acc.lookups != 0 {
		t.Errorf("updates changed the pod (%+v) or looked accounts up (%d)", pod.Spec, acc.lookups)
	}
}
