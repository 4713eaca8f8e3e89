package podworker

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// configError is a container configuration the kubelet cannot build (a
// missing ConfigMap key, say): the container waits with
// CreateContainerConfigError until it can be built.
type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

// NewConfigError returns an error that makes the pod's containers wait with
// CreateContainerConfigError (and the pod be retried) instead of failing the
// sync: what other packages (volumes) use for a missing object or key.
func NewConfigError(msg string) error { return &configError{msg} }

// makeEnv builds a container's environment in upstream's order: service
// links first, then envFrom, then env (later wins), with $(VAR) expanded
// against what came before.
func (w *Worker) makeEnv(ctx context.Context, pod *v1.Pod, c *v1.Container, podIP string) ([]*runtimeapi.KeyValue, error) {
	vars := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := vars[k]; !ok {
			order = append(order, k)
		}
		vars[k] = v
	}
	// The master service's variables are set even without service links:
	// in-cluster clients find the apiserver by KUBERNETES_SERVICE_HOST.
	links := pod.Spec.EnableServiceLinks == nil || *pod.Spec.EnableServiceLinks
	svcEnv, err := w.serviceEnv(pod.Namespace, links)
	if err != nil {
		return nil, err
	}
	for _, k := range sortedKeys(svcEnv) {
		set(k, svcEnv[k])
	}
	for _, from := range c.EnvFrom {
		switch {
		case from.ConfigMapRef != nil:
			cm, err := w.getConfigMap(ctx, pod.Namespace, from.ConfigMapRef.Name)
			if err != nil {
				if optional(from.ConfigMapRef.Optional) && apierrors.IsNotFound(err) {
					continue
				}
				return nil, wrapGetErr("configmap", pod.Namespace, from.ConfigMapRef.Name, err)
			}
			for _, k := range sortedKeys(cm.Data) {
				set(from.Prefix+k, cm.Data[k])
			}
		case from.SecretRef != nil:
			s, err := w.getSecret(ctx, pod.Namespace, from.SecretRef.Name)
			if err != nil {
				if optional(from.SecretRef.Optional) && apierrors.IsNotFound(err) {
					continue
				}
				return nil, wrapGetErr("secret", pod.Namespace, from.SecretRef.Name, err)
			}
			for _, k := range sortedKeys(s.Data) {
				set(from.Prefix+k, string(s.Data[k]))
			}
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			set(e.Name, expand(e.Value, vars))
			continue
		}
		v, ok, err := w.envValueFrom(ctx, pod, c, e.ValueFrom, podIP)
		if err != nil {
			return nil, err
		}
		if ok {
			set(e.Name, v)
		}
	}
	out := make([]*runtimeapi.KeyValue, 0, len(order))
	for _, k := range order {
		out = append(out, &runtimeapi.KeyValue{Key: k, Value: []byte(vars[k])})
	}
	return out, nil
}

func optional(b *bool) bool { return b != nil && *b }

func wrapGetErr(kind, ns, name string, err error) error {
	if apierrors.IsNotFound(err) {
		return &configError{fmt.Sprintf("%s %q not found", kind, name)}
	}
	return fmt.Errorf("get %s %s/%s: %w", kind, ns, name, err)
}

// envValueFrom resolves one valueFrom; ok is false for an optional reference
// that is missing (the variable is then left out).
func (w *Worker) envValueFrom(ctx context.Context, pod *v1.Pod, c *v1.Container, from *v1.EnvVarSource, podIP string) (string, bool, error) {
	switch {
	case from.FieldRef != nil:
		v, err := FieldValue(pod, from.FieldRef.FieldPath, podIP, w.cfg.NodeIP)
		return v, err == nil, err
	case from.ResourceFieldRef != nil:
		v, err := w.resourceValue(pod, c, from.ResourceFieldRef)
		return v, err == nil, err
	case from.ConfigMapKeyRef != nil:
		ref := from.ConfigMapKeyRef
		cm, err := w.getConfigMap(ctx, pod.Namespace, ref.Name)
		if err != nil {
			if optional(ref.Optional) && apierrors.IsNotFound(err) {
				return "", false, nil
			}
			return "", false, wrapGetErr("configmap", pod.Namespace, ref.Name, err)
		}
		v, ok := cm.Data[ref.Key]
		if !ok && !optional(ref.Optional) {
			return "", false, &configError{fmt.Sprintf("couldn't find key %s in ConfigMap %s/%s", ref.Key, pod.Namespace, ref.Name)}
		}
		return v, ok, nil
	case from.SecretKeyRef != nil:
		ref := from.SecretKeyRef
		s, err := w.getSecret(ctx, pod.Namespace, ref.Name)
		if err != nil {
			if optional(ref.Optional) && apierrors.IsNotFound(err) {
				return "", false, nil
			}
			return "", false, wrapGetErr("secret", pod.Namespace, ref.Name, err)
		}
		v, ok := s.Data[ref.Key]
		if !ok && !optional(ref.Optional) {
			return "", false, &configError{fmt.Sprintf("couldn't find key %s in Secret %s/%s", ref.Key, pod.Namespace, ref.Name)}
		}
		return string(v), ok, nil
	}
	return "", false, &configError{"empty valueFrom"}
}

// FieldValue resolves a downward-API field path of the pod.
func FieldValue(pod *v1.Pod, path, podIP, hostIP string) (string, error) {
	if k, ok := subscript(path, "metadata.labels"); ok {
		return pod.Labels[k], nil
	}
	if k, ok := subscript(path, "metadata.annotations"); ok {
		return pod.Annotations[k], nil
	}
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP", "status.hostIPs":
		return hostIP, nil
	case "status.podIP", "status.podIPs":
		return podIP, nil
	}
	return "", &configError{fmt.Sprintf("unsupported fieldPath %q", path)}
}

func subscript(path, prefix string) (string, bool) {
	if !strings.HasPrefix(path, prefix+"['") || !strings.HasSuffix(path, "']") {
		return "", false
	}
	return path[len(prefix)+2 : len(path)-2], true
}

func formatMap(m map[string]string) string {
	var b strings.Builder
	for _, k := range sortedKeys(m) {
		fmt.Fprintf(&b, "%s=%s\n", k, strconv.Quote(m[k]))
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// resourceValue resolves a resourceFieldRef; an unset limit reads as the
// node's allocatable, as upstream does.
func (w *Worker) resourceValue(pod *v1.Pod, c *v1.Container, ref *v1.ResourceFieldSelector) (string, error) {
	return ResourceValue(pod, c, ref, w.cfg.Allocatable)
}

// ResourceValue resolves a resourceFieldRef of container c (or of
// ref.ContainerName when set); an unset limit reads as allocatable.
func ResourceValue(pod *v1.Pod, c *v1.Container, ref *v1.ResourceFieldSelector, allocatable v1.ResourceList) (string, error) {
	target := c
	if ref.ContainerName != "" {
		target = nil
		for _, cc := range allContainers(pod) {
			if cc.Name == ref.ContainerName {
				target = &cc
				break
			}
		}
		if target == nil {
			return "", &configError{fmt.Sprintf("resourceFieldRef: no container %q", ref.ContainerName)}
		}
	}
	res := strings.SplitN(ref.Resource, ".", 2)
	if len(res) != 2 {
		return "", &configError{fmt.Sprintf("unsupported resource %q", ref.Resource)}
	}
	name := v1.ResourceName(res[1])
	list := target.Resources.Limits
	if res[0] == "requests" {
		list = target.Resources.Requests
	}
	q, ok := list[name]
	if !ok {
		q, ok = allocatable[name]
	}
	if !ok {
		return "0", nil
	}
	return quantityString(q, ref.Divisor, name == v1.ResourceCPU), nil
}

// Upstream's master service: default/kubernetes, whose variables every pod
// gets.
const (
	masterServiceNamespace = "default"
	masterServiceName      = "kubernetes"
)

// serviceEnv is the docker-link style environment of the services, as
// upstream computes it: <NAME>_SERVICE_HOST, <NAME>_SERVICE_PORT[_<PORT>],
// <NAME>_PORT and <NAME>_PORT_<port>_<PROTO>[_PROTO|_PORT|_ADDR]. Every pod
// gets the master service's (default/kubernetes); with links, the services
// of its own namespace too, and a service of its namespace named like the
// master service wins over it.
func (w *Worker) serviceEnv(ns string, links bool) (map[string]string, error) {
	if w.services == nil {
		return nil, nil
	}
	svcs, err := w.services()
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	chosen := map[string]*v1.Service{}
	for _, s := range svcs {
		if s.Spec.ClusterIP == "" || s.Spec.ClusterIP == v1.ClusterIPNone {
			continue
		}
		switch {
		case s.Namespace == masterServiceNamespace && s.Name == masterServiceName:
			if _, ok := chosen[s.Name]; !ok {
				chosen[s.Name] = s
			}
		case s.Namespace == ns && links:
			chosen[s.Name] = s
		}
	}
	env := map[string]string{}
	for _, s := range chosen {
		prefix := envName(s.Name)
		ip := s.Spec.ClusterIP
		for i, p := range s.Spec.Ports {
			port := strconv.Itoa(int(p.Port))
			proto := strings.ToUpper(string(p.Protocol))
			if proto == "" {
				proto = "TCP"
			}
			url := fmt.Sprintf("%s://%s", strings.ToLower(proto), joinHostPort(ip, port))
			if i == 0 {
				env[prefix+"_SERVICE_HOST"] = ip
				env[prefix+"_SERVICE_PORT"] = port
				env[prefix+"_PORT"] = url
			}
			if p.Name != "" {
				env[prefix+"_SERVICE_PORT_"+envName(p.Name)] = port
			}
			base := prefix + "_PORT_" + port + "_" + proto
			env[base] = url
			env[base+"_PROTO"] = strings.ToLower(proto)
			env[base+"_PORT"] = port
			env[base+"_ADDR"] = ip
		}
	}
	return env, nil
}

func envName(s string) string { return strings.ToUpper(strings.ReplaceAll(s, "-", "_")) }

func joinHostPort(host, port string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}

func (w *Worker) getConfigMap(ctx context.Context, ns, name string) (*v1.ConfigMap, error) {
	return w.client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
}

func (w *Worker) getSecret(ctx context.Context, ns, name string) (*v1.Secret, error) {
	return w.client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
}
