package framework

import (
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Defaults the scorers assume for containers that request no cpu or memory,
// as upstream does, so that best-effort pods still spread.
const (
	DefaultMilliCPURequest int64 = 100               // 0.1 core
	DefaultMemoryRequest   int64 = 200 * 1024 * 1024 // 200 MiB
)

// Resource is an amount of each schedulable resource.
type Resource struct {
	MilliCPU         int64
	Memory           int64
	EphemeralStorage int64
	// AllowedPodNumber is the pods count (only meaningful for allocatable).
	AllowedPodNumber int64
	// ScalarResources are extended resources, hugepages and attachable volumes.
	ScalarResources map[v1.ResourceName]int64
}

// NewResource converts a ResourceList.
func NewResource(rl v1.ResourceList) *Resource {
	r := &Resource{}
	r.Add(rl)
	return r
}

// Add adds every quantity of rl.
func (r *Resource) Add(rl v1.ResourceList) {
	for name, q := range rl {
		r.addQuantity(name, q, 1)
	}
}

func (r *Resource) addQuantity(name v1.ResourceName, q resource.Quantity, sign int64) {
	switch name {
	case v1.ResourceCPU:
		r.MilliCPU += sign * q.MilliValue()
	case v1.ResourceMemory:
		r.Memory += sign * q.Value()
	case v1.ResourceEphemeralStorage:
		r.EphemeralStorage += sign * q.Value()
	case v1.ResourcePods:
		r.AllowedPodNumber += sign * q.Value()
	default:
		if IsScalarResourceName(name) {
			r.SetScalar(name, r.ScalarResources[name]+sign*q.Value())
		}
	}
}

// AddResource adds o to r.
func (r *Resource) AddResource(o *Resource) {
	r.MilliCPU += o.MilliCPU
	r.Memory += o.Memory
	r.EphemeralStorage += o.EphemeralStorage
	r.AllowedPodNumber += o.AllowedPodNumber
	for k, v := range o.ScalarResources {
		r.SetScalar(k, r.ScalarResources[k]+v)
	}
}

// SubResource subtracts o from r.
func (r *Resource) SubResource(o *Resource) {
	r.MilliCPU -= o.MilliCPU
	r.Memory -= o.Memory
	r.EphemeralStorage -= o.EphemeralStorage
	r.AllowedPodNumber -= o.AllowedPodNumber
	for k, v := range o.ScalarResources {
		r.SetScalar(k, r.ScalarResources[k]-v)
	}
}

// SetMax raises each amount of r to at least o's.
func (r *Resource) SetMax(o *Resource) {
	r.MilliCPU = max(r.MilliCPU, o.MilliCPU)
	r.Memory = max(r.Memory, o.Memory)
	r.EphemeralStorage = max(r.EphemeralStorage, o.EphemeralStorage)
	r.AllowedPodNumber = max(r.AllowedPodNumber, o.AllowedPodNumber)
	for k, v := range o.ScalarResources {
		if v > r.ScalarResources[k] {
			r.SetScalar(k, v)
		}
	}
}

// SetScalar sets one scalar resource.
func (r *Resource) SetScalar(name v1.ResourceName, v int64) {
	if r.ScalarResources == nil {
		r.ScalarResources = map[v1.ResourceName]int64{}
	}
	r.ScalarResources[name] = v
}

// Clone deep-copies r.
func (r *Resource) Clone() *Resource {
	c := *r
	if r.ScalarResources != nil {
		c.ScalarResources = make(map[v1.ResourceName]int64, len(r.ScalarResources))
		for k, v := range r.ScalarResources {
			c.ScalarResources[k] = v
		}
	}
	return &c
}

// Get returns the amount of one resource.
func (r *Resource) Get(name v1.ResourceName) int64 {
	switch name {
	case v1.ResourceCPU:
		return r.MilliCPU
	case v1.ResourceMemory:
		return r.Memory
	case v1.ResourceEphemeralStorage:
		return r.EphemeralStorage
	case v1.ResourcePods:
		return r.AllowedPodNumber
	}
	return r.ScalarResources[name]
}

// IsScalarResourceName reports extended resources (domain/name outside
// kubernetes.io), hugepages-* and attachable-volumes-*.
func IsScalarResourceName(name v1.ResourceName) bool {
	s := string(name)
	if len(s) > len(v1.ResourceHugePagesPrefix) && s[:len(v1.ResourceHugePagesPrefix)] == v1.ResourceHugePagesPrefix {
		return true
	}
	if len(s) > len(v1.ResourceAttachableVolumesPrefix) && s[:len(v1.ResourceAttachableVolumesPrefix)] == v1.ResourceAttachableVolumesPrefix {
		return true
	}
	return IsExtendedResourceName(name)
}

// IsExtendedResourceName reports a fully qualified name outside the
// kubernetes.io domain, without the requests. prefix.
func IsExtendedResourceName(name v1.ResourceName) bool {
	s := string(name)
	slash := -1
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			slash = i
			break
		}
	}
	if slash <= 0 {
		return false
	}
	domain := s[:slash]
	if domain == "kubernetes.io" || len(domain) > len(".kubernetes.io") && domain[len(domain)-len(".kubernetes.io"):] == ".kubernetes.io" {
		return false
	}
	return len(s) < len("requests.") || s[:len("requests.")] != "requests."
}

// PodRequests computes what a pod asks of a node, as upstream does: the
// larger of (the sum of regular containers plus restartable init
// containers, i.e. sidecars) and (each init container plus the sidecars
// started before it), plus the pod overhead. Pod-level requests
// (spec.resources), when set, replace the container totals for the
// resources they name.
func PodRequests(pod *v1.Pod) *Resource {
	return podRequests(pod, false)
}

// PodNonZeroRequests is PodRequests with cpu and memory of containers that
// request none replaced by DefaultMilliCPURequest and DefaultMemoryRequest;
// the scorers use it so that best-effort pods count.
func PodNonZeroRequests(pod *v1.Pod) *Resource {
	return podRequests(pod, true)
}

func containerRequests(c *v1.Container, nonZero bool) *Resource {
	r := NewResource(c.Resources.Requests)
	if nonZero {
		if _, ok := c.Resources.Requests[v1.ResourceCPU]; !ok {
			r.MilliCPU = DefaultMilliCPURequest
		}
		if _, ok := c.Resources.Requests[v1.ResourceMemory]; !ok {
			r.Memory = DefaultMemoryRequest
		}
	}
	return r
}

func podRequests(pod *v1.Pod, nonZero bool) *Resource {
	total := &Resource{}
	for i := range pod.Spec.Containers {
		total.AddResource(containerRequests(&pod.Spec.Containers[i], nonZero))
	}
	sidecars := &Resource{}
	initMax := &Resource{}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cr := containerRequests(c, nonZero)
		if c.RestartPolicy != nil && *c.RestartPolicy == v1.ContainerRestartPolicyAlways {
			// A sidecar runs beside everything started after it.
			total.AddResource(cr)
			sidecars.AddResource(cr)
			initMax.SetMax(sidecars)
			continue
		}
		step := sidecars.Clone()
		step.AddResource(cr)
		initMax.SetMax(step)
	}
	total.SetMax(initMax)
	if pr := pod.Spec.Resources; pr != nil {
		for _, name := range []v1.ResourceName{v1.ResourceCPU, v1.ResourceMemory} {
			if q, ok := pr.Requests[name]; ok {
				switch name {
				case v1.ResourceCPU:
					total.MilliCPU = q.MilliValue()
				case v1.ResourceMemory:
					total.Memory = q.Value()
				}
			}
		}
	}
	if pod.Spec.Overhead != nil {
		total.Add(pod.Spec.Overhead)
	}
	return total
}
