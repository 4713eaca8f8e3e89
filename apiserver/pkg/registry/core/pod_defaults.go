package core

import (
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Upstream's pod defaults.
const (
	// DefaultTerminationGracePeriodSeconds is spec.terminationGracePeriodSeconds when unset.
	DefaultTerminationGracePeriodSeconds = int64(corev1.DefaultTerminationGracePeriodSeconds)
	// SystemClusterCritical and SystemNodeCritical are the built-in priority
	// classes and their values.
	SystemClusterCritical         = "system-cluster-critical"
	SystemNodeCritical            = "system-node-critical"
	SystemClusterCriticalPriority = int32(2000000000)
	SystemNodeCriticalPriority    = int32(2000001000)
)

func ptrTo[T any](v T) *T { return &v }

// DefaultPodSpec fills the unset fields of a pod spec the way upstream's v1
// defaulters do for every object that embeds one (pods and pod templates):
// restartPolicy Always, dnsPolicy ClusterFirst, an empty securityContext,
// terminationGracePeriodSeconds 30, schedulerName "default-scheduler", and per
// container the pull policy, termination message path and policy, port
// protocols, probe and handler defaults, field-ref API versions, volume
// sources and their file modes. It may be called repeatedly.
func DefaultPodSpec(spec *corev1.PodSpec) {
	if spec.DNSPolicy == "" {
		spec.DNSPolicy = corev1.DNSClusterFirst
	}
	if spec.RestartPolicy == "" {
		spec.RestartPolicy = corev1.RestartPolicyAlways
	}
	if spec.SecurityContext == nil {
		spec.SecurityContext = &corev1.PodSecurityContext{}
	}
	if spec.TerminationGracePeriodSeconds == nil {
		spec.TerminationGracePeriodSeconds = ptrTo(DefaultTerminationGracePeriodSeconds)
	}
	if spec.SchedulerName == "" {
		spec.SchedulerName = corev1.DefaultSchedulerName
	}
	// serviceAccount is the deprecated alias of serviceAccountName; the two are
	// kept equal, the new field winning.
	if spec.ServiceAccountName == "" {
		spec.ServiceAccountName = spec.DeprecatedServiceAccount
	}
	spec.DeprecatedServiceAccount = spec.ServiceAccountName

	for i := range spec.InitContainers {
		defaultContainer(&spec.InitContainers[i])
	}
	for i := range spec.Containers {
		defaultContainer(&spec.Containers[i])
	}
	for i := range spec.EphemeralContainers {
		defaultContainer((*corev1.Container)(&spec.EphemeralContainers[i].EphemeralContainerCommon))
	}
	for i := range spec.Volumes {
		defaultVolume(&spec.Volumes[i])
	}
	roundResourceList(spec.Overhead)
	if spec.Resources != nil {
		roundResourceList(spec.Resources.Limits)
		roundResourceList(spec.Resources.Requests)
	}
}

// DefaultPodTemplateSpec defaults the spec of a pod template (as in
// Deployments, Jobs, ...). Pod-only defaults (requests from limits,
// enableServiceLinks) are applied when the pod itself is created.
func DefaultPodTemplateSpec(template *corev1.PodTemplateSpec) {
	if template == nil {
		return
	}
	DefaultPodSpec(&template.Spec)
}

// defaultPod applies the defaults upstream gives a Pod beyond its spec:
// requests defaulted from limits, resize policies, enableServiceLinks, host
// ports under hostNetwork, and the priority the Priority admission plugin
// resolves when no custom PriorityClass is named.
func defaultPod(pod *corev1.Pod) {
	spec := &pod.Spec
	DefaultPodSpec(spec)
	for i := range spec.Containers {
		c := &spec.Containers[i]
		defaultRequestsFromLimits(&c.Resources)
		defaultResizePolicy(c)
	}
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		defaultRequestsFromLimits(&c.Resources)
		if isRestartableInitContainer(c) {
			defaultResizePolicy(c)
		}
	}
	if spec.Resources != nil {
		defaultRequestsFromLimits(spec.Resources)
	}
	if spec.EnableServiceLinks == nil {
		spec.EnableServiceLinks = ptrTo(corev1.DefaultEnableServiceLinks)
	}
	if spec.HostNetwork {
		defaultHostNetworkPorts(spec.Containers)
		defaultHostNetworkPorts(spec.InitContainers)
	}
	if spec.Priority == nil {
		switch spec.PriorityClassName {
		case "":
			spec.Priority = ptrTo(int32(0))
		case SystemClusterCritical:
			spec.Priority = ptrTo(SystemClusterCriticalPriority)
		case SystemNodeCritical:
			spec.Priority = ptrTo(SystemNodeCriticalPriority)
		}
	}
	if spec.PreemptionPolicy == nil && spec.Priority != nil {
		spec.PreemptionPolicy = ptrTo(corev1.PreemptLowerPriority)
	}
}

func isRestartableInitContainer(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

func defaultRequestsFromLimits(r *corev1.ResourceRequirements) {
	if r.Limits == nil {
		return
	}
	if r.Requests == nil {
		r.Requests = corev1.ResourceList{}
	}
	for name, q := range r.Limits {
		if _, ok := r.Requests[name]; !ok {
			r.Requests[name] = q.DeepCopy()
		}
	}
}

// defaultResizePolicy gives cpu and memory, when requested, the in-place resize
// policy NotRequired unless one is set.
func defaultResizePolicy(c *corev1.Container) {
	if c.Resources.Requests == nil {
		return
	}
	have := map[corev1.ResourceName]bool{}
	for _, p := range c.ResizePolicy {
		have[p.ResourceName] = true
	}
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[name]; ok && !have[name] {
			c.ResizePolicy = append(c.ResizePolicy, corev1.ContainerResizePolicy{ResourceName: name, RestartPolicy: corev1.NotRequired})
		}
	}
}

func defaultHostNetworkPorts(containers []corev1.Container) {
	for i := range containers {
		for j := range containers[i].Ports {
			p := &containers[i].Ports[j]
			if p.HostPort == 0 {
				p.HostPort = p.ContainerPort
			}
		}
	}
}

func defaultContainer(c *corev1.Container) {
	if c.ImagePullPolicy == "" {
		if imageTag(c.Image) == "latest" {
			c.ImagePullPolicy = corev1.PullAlways
		} else {
			c.ImagePullPolicy = corev1.PullIfNotPresent
		}
	}
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = corev1.TerminationMessagePathDefault
	}
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
	}
	for i := range c.Ports {
		if c.Ports[i].Protocol == "" {
			c.Ports[i].Protocol = corev1.ProtocolTCP
		}
	}
	for i := range c.Env {
		if vf := c.Env[i].ValueFrom; vf != nil && vf.FieldRef != nil && vf.FieldRef.APIVersion == "" {
			vf.FieldRef.APIVersion = "v1"
		}
	}
	defaultProbe(c.LivenessProbe)
	defaultProbe(c.ReadinessProbe)
	defaultProbe(c.StartupProbe)
	if c.Lifecycle != nil {
		defaultLifecycleHandler(c.Lifecycle.PostStart)
		defaultLifecycleHandler(c.Lifecycle.PreStop)
	}
	roundResourceList(c.Resources.Limits)
	roundResourceList(c.Resources.Requests)
}

// imageTag returns the tag a container image reference resolves to: its
// explicit tag, "" when it is pinned by digest only, and "latest" when it has
// neither (or is empty or malformed, which validation reports).
func imageTag(image string) string {
	if image == "" || strings.TrimSpace(image) != image {
		return ""
	}
	ref := image
	hasDigest := false
	if i := strings.Index(ref, "@"); i >= 0 {
		ref, hasDigest = ref[:i], true
	}
	last := ref
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		last = ref[i+1:]
	}
	if i := strings.LastIndex(last, ":"); i >= 0 {
		return last[i+1:]
	}
	if hasDigest {
		return ""
	}
	return "latest"
}

func defaultProbe(p *corev1.Probe) {
	if p == nil {
		return
	}
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = 1
	}
	if p.PeriodSeconds == 0 {
		p.PeriodSeconds = 10
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = 1
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = 3
	}
	defaultHTTPGet(p.HTTPGet)
	if p.GRPC != nil && p.GRPC.Service == nil {
		p.GRPC.Service = ptrTo("")
	}
}

func defaultLifecycleHandler(h *corev1.LifecycleHandler) {
	if h != nil {
		defaultHTTPGet(h.HTTPGet)
	}
}

func defaultHTTPGet(a *corev1.HTTPGetAction) {
	if a == nil {
		return
	}
	if a.Path == "" {
		a.Path = "/"
	}
	if a.Scheme == "" {
		a.Scheme = corev1.URISchemeHTTP
	}
}

// roundResourceList rounds every quantity up to milli precision, as upstream
// does for API compatibility.
func roundResourceList(list corev1.ResourceList) {
	for name, q := range list {
		q.RoundUp(resource.Milli)
		list[name] = q
	}
}

func defaultVolume(v *corev1.Volume) {
	src := &v.VolumeSource
	if volumeSourceCount(src) == 0 {
		src.EmptyDir = &corev1.EmptyDirVolumeSource{}
	}
	if s := src.Secret; s != nil && s.DefaultMode == nil {
		s.DefaultMode = ptrTo(corev1.SecretVolumeSourceDefaultMode)
	}
	if s := src.ConfigMap; s != nil && s.DefaultMode == nil {
		s.DefaultMode = ptrTo(corev1.ConfigMapVolumeSourceDefaultMode)
	}
	if s := src.DownwardAPI; s != nil {
		if s.DefaultMode == nil {
			s.DefaultMode = ptrTo(corev1.DownwardAPIVolumeSourceDefaultMode)
		}
		defaultDownwardAPIItems(s.Items)
	}
	if s := src.Projected; s != nil {
		if s.DefaultMode == nil {
			s.DefaultMode = ptrTo(corev1.ProjectedVolumeSourceDefaultMode)
		}
		for i := range s.Sources {
			if t := s.Sources[i].ServiceAccountToken; t != nil && t.ExpirationSeconds == nil {
				t.ExpirationSeconds = ptrTo(int64(3600))
			}
			if d := s.Sources[i].DownwardAPI; d != nil {
				defaultDownwardAPIItems(d.Items)
			}
		}
	}
	if s := src.HostPath; s != nil && s.Type == nil {
		s.Type = ptrTo(corev1.HostPathUnset)
	}
	if s := src.ISCSI; s != nil && s.ISCSIInterface == "" {
		s.ISCSIInterface = "default"
	}
	if s := src.RBD; s != nil {
		if s.RBDPool == "" {
			s.RBDPool = "rbd"
		}
		if s.RadosUser == "" {
			s.RadosUser = "admin"
		}
		if s.Keyring == "" {
			s.Keyring = "/etc/ceph/keyring"
		}
	}
	if s := src.AzureDisk; s != nil {
		if s.CachingMode == nil {
			s.CachingMode = ptrTo(corev1.AzureDataDiskCachingReadWrite)
		}
		if s.Kind == nil {
			s.Kind = ptrTo(corev1.AzureSharedBlobDisk)
		}
		if s.FSType == nil {
			s.FSType = ptrTo("ext4")
		}
		if s.ReadOnly == nil {
			s.ReadOnly = ptrTo(false)
		}
	}
	if s := src.ScaleIO; s != nil {
		if s.StorageMode == "" {
			s.StorageMode = "ThinProvisioned"
		}
		if s.FSType == "" {
			s.FSType = "xfs"
		}
	}
	if s := src.Ephemeral; s != nil && s.VolumeClaimTemplate != nil {
		DefaultPersistentVolumeClaimSpec(&s.VolumeClaimTemplate.Spec)
	}
}

func defaultDownwardAPIItems(items []corev1.DownwardAPIVolumeFile) {
	for i := range items {
		if f := items[i].FieldRef; f != nil && f.APIVersion == "" {
			f.APIVersion = "v1"
		}
	}
}

// volumeSourceCount counts the sources set in a VolumeSource: every field of
// the struct is a pointer to one kind of source.
func volumeSourceCount(src *corev1.VolumeSource) int {
	return len(setPointerFields(src))
}

// setPointerFields returns the JSON names of the non-nil pointer fields of the
// struct p points to, in declaration order.
func setPointerFields(p any) []string {
	v := reflect.ValueOf(p).Elem()
	t := v.Type()
	var names []string
	for i := 0; i < t.NumField(); i++ {
		f := v.Field(i)
		if f.Kind() != reflect.Pointer || f.IsNil() {
			continue
		}
		names = append(names, jsonName(t.Field(i)))
	}
	return names
}

func jsonName(f reflect.StructField) string {
	tag := f.Tag.Get("json")
	if name, _, _ := strings.Cut(tag, ","); name != "" {
		return name
	}
	return f.Name
}
