// Package serviceaccount is the ServiceAccount admission plugin. On pod
// creation it names the "default" ServiceAccount when the pod names none,
// rejects pods whose ServiceAccount does not exist, copies the account's
// imagePullSecrets to a pod that has none, and — unless
// automountServiceAccountToken says otherwise — adds the projected
// kube-api-access-<random> volume (a bound token, the cluster CA from the
// kube-root-ca.crt ConfigMap and the namespace) mounted read-only at
// /var/run/secrets/kubernetes.io/serviceaccount in every container. Mirror
// pods are never changed, and may not reference service accounts, secrets,
// ConfigMaps or token projections.
package serviceaccount

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilrand "k8s.io/apimachinery/pkg/util/rand"

	"navarch.dev/apiserver/pkg/registry"
)

// Name is the plugin's name in --enable-admission-plugins.
const Name = "ServiceAccount"

const (
	// DefaultServiceAccountName is the account of pods that name none.
	DefaultServiceAccountName = "default"
	// VolumePrefix starts the name of the token volume the plugin adds.
	VolumePrefix = "kube-api-access-"
	// MountPath is where the token volume is mounted in every container.
	MountPath = "/var/run/secrets/kubernetes.io/serviceaccount"
	// RootCAConfigMap is the ConfigMap (published in every namespace by the
	// controller-manager) whose ca.crt the volume carries.
	RootCAConfigMap = "kube-root-ca.crt"
	// TokenExpirationSeconds is the lifetime the volume asks for its token:
	// upstream's 3607, an hour and a few seconds, which marks tokens of
	// this volume.
	TokenExpirationSeconds = 3607
)

// ServiceAccounts looks service accounts up.
type ServiceAccounts interface {
	// ServiceAccount returns the account, or nil when it does not exist.
	ServiceAccount(ctx context.Context, namespace, name string) (*corev1.ServiceAccount, error)
}

// Plugin is the ServiceAccount admission plugin.
type Plugin struct {
	Accounts ServiceAccounts
	// DefaultLookups is how often a missing "default" account is looked
	// up before the pod is rejected (the controller-manager creates it
	// moments after its namespace); RetryInterval is the pause between
	// lookups. Zero values mean 10 lookups 100-200 ms apart, as upstream.
	DefaultLookups int
	RetryInterval  time.Duration
}

var _ registry.Admission = (*Plugin)(nil)

var (
	podsGR = schema.GroupResource{Resource: "pods"}
	// saGR names the account in "not found" errors as upstream does.
	saGR = schema.GroupResource{Resource: "serviceaccount"}
)

// Admit implements registry.Admission: it acts on pod creation only (pod
// updates may not change serviceAccountName; pod validation refuses that).
func (p *Plugin) Admit(ctx context.Context, a *registry.AdmissionAttributes) error {
	res := a.Resource
	if res.GroupVersion.Group != "" || res.Plural != "pods" || a.Subresource != "" || a.Operation != "CREATE" {
		return nil
	}
	pod, ok := a.Object.(*corev1.Pod)
	if !ok {
		return nil
	}
	if _, mirror := pod.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		// The kubelet compares a mirror pod with its static pod and
		// recreates one that differs: never change it.
		return validateMirror(pod, a.Name)
	}
	if pod.Spec.ServiceAccountName == "" {
		pod.Spec.ServiceAccountName = DefaultServiceAccountName
	}
	// The deprecated alias follows the field, as the API's defaulting does.
	pod.Spec.DeprecatedServiceAccount = pod.Spec.ServiceAccountName
	sa, err := p.lookup(ctx, a.Namespace, pod.Spec.ServiceAccountName)
	if err != nil {
		return apierrors.NewForbidden(podsGR, a.Name, fmt.Errorf("error looking up service account %s/%s: %w", a.Namespace, pod.Spec.ServiceAccountName, err))
	}
	if automount(sa, pod) {
		mountToken(pod)
	}
	if len(pod.Spec.ImagePullSecrets) == 0 && len(sa.ImagePullSecrets) > 0 {
		pod.Spec.ImagePullSecrets = append([]corev1.LocalObjectReference(nil), sa.ImagePullSecrets...)
	}
	return nil
}

// lookup finds the account, looking again for a while when "default" is
// missing. The error of a missing account is NotFound.
func (p *Plugin) lookup(ctx context.Context, ns, name string) (*corev1.ServiceAccount, error) {
	attempts := 1
	if name == DefaultServiceAccountName {
		attempts = p.DefaultLookups
		if attempts <= 0 {
			attempts = 10
		}
	}
	interval := p.RetryInterval
	if interval <= 0 {
		interval = time.Duration(100+rand.IntN(100)) * time.Millisecond
	}
	for i := 0; i < attempts; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(interval):
			}
		}
		sa, err := p.Accounts.ServiceAccount(ctx, ns, name)
		if err != nil {
			return nil, err
		}
		if sa != nil {
			return sa, nil
		}
	}
	return nil, apierrors.NewNotFound(saGR, name)
}

// automount: the pod's automountServiceAccountToken wins, then the
// account's; unset on both means yes.
func automount(sa *corev1.ServiceAccount, pod *corev1.Pod) bool {
	if b := pod.Spec.AutomountServiceAccountToken; b != nil {
		return *b
	}
	if b := sa.AutomountServiceAccountToken; b != nil {
		return *b
	}
	return true
}

// mountToken mounts the token volume in every container (init containers
// too) that has nothing mounted at MountPath, and adds the volume if any
// container needs it. A pod that already has a kube-api-access- volume
// gets that one mounted.
func mountToken(pod *corev1.Pod) {
	volume := ""
	for _, v := range pod.Spec.Volumes {
		if strings.HasPrefix(v.Name, VolumePrefix) {
			volume = v.Name
			break
		}
	}
	exists := volume != ""
	if !exists {
		volume = VolumePrefix + utilrand.String(5)
	}
	mount := corev1.VolumeMount{Name: volume, ReadOnly: true, MountPath: MountPath}
	needed := false
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range list {
			if !mounts(&list[i], MountPath) {
				list[i].VolumeMounts = append(list[i].VolumeMounts, mount)
				needed = true
			}
		}
	}
	if needed && !exists {
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{
			Name:         volume,
			VolumeSource: corev1.VolumeSource{Projected: TokenVolumeSource()},
		})
	}
}

func mounts(c *corev1.Container, path string) bool {
	for _, m := range c.VolumeMounts {
		if m.MountPath == path {
			return true
		}
	}
	return false
}

// TokenVolumeSource is the projection of a kube-api-access volume: the
// token, ca.crt from the kube-root-ca.crt ConfigMap and the namespace.
func TokenVolumeSource() *corev1.ProjectedVolumeSource {
	mode := int32(corev1.ProjectedVolumeSourceDefaultMode)
	exp := int64(TokenExpirationSeconds)
	return &corev1.ProjectedVolumeSource{
		DefaultMode: &mode,
		Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: &exp}},
			{ConfigMap: &corev1.ConfigMapProjection{
				LocalObjectReference: corev1.LocalObjectReference{Name: RootCAConfigMap},
				Items:                []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}},
			}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{
				Path:     "namespace",
				FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"},
			}}}},
		},
	}
}

// validateMirror refuses mirror pods that reference what a kubelet may not
// hand a static pod: service accounts, secrets, ConfigMaps and token or
// certificate projections.
func validateMirror(pod *corev1.Pod, name string) error {
	forbid := func(msg string) error { return apierrors.NewForbidden(podsGR, name, errors.New(msg)) }
	if pod.Spec.ServiceAccountName != "" {
		return forbid("a mirror pod may not reference service accounts")
	}
	if referencesSecrets(pod) {
		return forbid("a mirror pod may not reference secrets")
	}
	if referencesConfigMaps(pod) {
		return forbid("a mirror pod may not reference configmaps")
	}
	for _, v := range pod.Spec.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, s := range v.Projected.Sources {
			switch {
			case s.ServiceAccountToken != nil:
				return forbid("a mirror pod may not use ServiceAccountToken volume projections")
			case s.ClusterTrustBundle != nil:
				return forbid("a mirror pod may not use ClusterTrustBundle volume projections")
			case s.PodCertificate != nil:
				return forbid("a mirror pod may not use PodCertificate volume projections")
			}
		}
	}
	return nil
}

// envSources collects the env and envFrom entries of every container of the
// pod (init, regular and ephemeral).
func envSources(pod *corev1.Pod) (env []corev1.EnvVar, from []corev1.EnvFromSource) {
	for _, c := range pod.Spec.InitContainers {
		env, from = append(env, c.Env...), append(from, c.EnvFrom...)
	}
	for _, c := range pod.Spec.Containers {
		env, from = append(env, c.Env...), append(from, c.EnvFrom...)
	}
	for _, c := range pod.Spec.EphemeralContainers {
		env, from = append(env, c.Env...), append(from, c.EnvFrom...)
	}
	return env, from
}

func referencesSecrets(pod *corev1.Pod) bool {
	if len(pod.Spec.ImagePullSecrets) > 0 {
		return true
	}
	for _, v := range pod.Spec.Volumes {
		switch {
		case v.Secret != nil,
			v.CSI != nil && v.CSI.NodePublishSecretRef != nil,
			v.CephFS != nil && v.CephFS.SecretRef != nil,
			v.Cinder != nil && v.Cinder.SecretRef != nil,
			v.FlexVolume != nil && v.FlexVolume.SecretRef != nil,
			v.ISCSI != nil && v.ISCSI.SecretRef != nil,
			v.RBD != nil && v.RBD.SecretRef != nil,
			v.ScaleIO != nil && v.ScaleIO.SecretRef != nil,
			v.StorageOS != nil && v.StorageOS.SecretRef != nil,
			v.AzureFile != nil:
			return true
		case v.Projected != nil:
			for _, s := range v.Projected.Sources {
				if s.Secret != nil {
					return true
				}
			}
		}
	}
	env, from := envSources(pod)
	for _, e := range env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			return true
		}
	}
	for _, f := range from {
		if f.SecretRef != nil {
			return true
		}
	}
	return false
}

func referencesConfigMaps(pod *corev1.Pod) bool {
	for _, v := range pod.Spec.Volumes {
		if v.ConfigMap != nil {
			return true
		}
		if v.Projected != nil {
			for _, s := range v.Projected.Sources {
				if s.ConfigMap != nil {
					return true
				}
			}
		}
	}
	env, from := envSources(pod)
	for _, e := range env {
		if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil {
			return true
		}
	}
	for _, f := range from {
		if f.ConfigMapRef != nil {
			return true
		}
	}
	return false
}
