package describe

import (
	"fmt"
	"math"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// containerSection prints "Containers:" or "Init Containers:" and each
// container. In a pod template (template) the section sits one level in and
// names are indented one more space, as kubectl prints them; pod, when set,
// resolves the values of downward-API variables.
func containerSection(w *writer, title string, cs []corev1.Container, statuses []corev1.ContainerStatus, pod *corev1.Pod, template bool) {
	byName := map[string]corev1.ContainerStatus{}
	for _, s := range statuses {
		byName[s.Name] = s
	}
	if template {
		w.write(1, "%s:\n", title)
	} else {
		w.write(0, "%s:\n", title)
	}
	for i := range cs {
		c := &cs[i]
		st, ok := byName[c.Name]
		if template {
			w.write(1, " %s:\n", c.Name)
		} else {
			w.write(1, "%s:\n", c.Name)
		}
		if ok {
			w.write(2, "Container ID:\t%s\n", st.ContainerID)
		}
		w.write(2, "Image:\t%s\n", c.Image)
		if ok {
			w.write(2, "Image ID:\t%s\n", st.ImageID)
		}
		ports, hostPorts := containerPorts(c.Ports)
		if strings.Contains(ports, ",") {
			w.write(2, "Ports:\t%s\n", ports)
			w.write(2, "Host Ports:\t%s\n", hostPorts)
		} else {
			w.write(2, "Port:\t%s\n", ports)
			w.write(2, "Host Port:\t%s\n", hostPorts)
		}
		if c.SecurityContext != nil && c.SecurityContext.SeccompProfile != nil {
			w.write(2, "SeccompProfile:\t%s\n", c.SecurityContext.SeccompProfile.Type)
		}
		printLines(w, "Command", c.Command)
		printLines(w, "Args", c.Args)
		if ok {
			containerState(w, "State", st.State)
			if st.LastTerminationState.Terminated != nil {
				containerState(w, "Last State", st.LastTerminationState)
			}
			w.write(2, "Ready:\t%s\n", capBool(st.Ready))
			w.write(2, "Restart Count:\t%d\n", st.RestartCount)
		}
		resourceList(w, 2, "Limits", c.Resources.Limits)
		resourceList(w, 2, "Requests", c.Resources.Requests)
		for _, p := range []struct {
			name  string
			probe *corev1.Probe
		}{{"Liveness", c.LivenessProbe}, {"Readiness", c.ReadinessProbe}, {"Startup", c.StartupProbe}} {
			if p.probe != nil {
				w.write(2, "%s:\t%s\n", p.name, probeString(p.probe))
			}
		}
		if len(c.EnvFrom) > 0 {
			envFrom(w, c.EnvFrom)
		}
		envVars(w, c, pod)
		mounts(w, c.VolumeMounts)
	}
}

// containerPorts are "8080/TCP (http), 9090/UDP" and the host ports alike,
// "<none>" without ports.
func containerPorts(ports []corev1.ContainerPort) (string, string) {
	if len(ports) == 0 {
		return "<none>", "<none>"
	}
	var cp, hp []string
	for _, p := range ports {
		name := ""
		if p.Name != "" {
			name = " (" + p.Name + ")"
		}
		cp = append(cp, fmt.Sprintf("%d/%s%s", p.ContainerPort, p.Protocol, name))
		hp = append(hp, fmt.Sprintf("%d/%s%s", p.HostPort, p.Protocol, name))
	}
	return strings.Join(cp, ", "), strings.Join(hp, ", ")
}

// printLines prints a container's command or args, one element a line.
func printLines(w *writer, title string, lines []string) {
	if len(lines) == 0 {
		return
	}
	w.write(2, "%s:\n", title)
	for _, l := range lines {
		for _, part := range strings.Split(l, "\n") {
			w.write(3, "%s\n", part)
		}
	}
}

func containerState(w *writer, title string, s corev1.ContainerState) {
	switch {
	case s.Running != nil:
		w.write(2, "%s:\tRunning\n", title)
		w.write(3, "Started:\t%s\n", formatTime(s.Running.StartedAt))
	case s.Waiting != nil:
		w.write(2, "%s:\tWaiting\n", title)
		if s.Waiting.Reason != "" {
			w.write(3, "Reason:\t%s\n", s.Waiting.Reason)
		}
	case s.Terminated != nil:
		t := s.Terminated
		w.write(2, "%s:\tTerminated\n", title)
		if t.Reason != "" {
			w.write(3, "Reason:\t%s\n", t.Reason)
		}
		if t.Message != "" {
			w.write(3, "Message:\t%s\n", t.Message)
		}
		w.write(3, "Exit Code:\t%d\n", t.ExitCode)
		if t.Signal > 0 {
			w.write(3, "Signal:\t%d\n", t.Signal)
		}
		w.write(3, "Started:\t%s\n", formatTime(t.StartedAt))
		w.write(3, "Finished:\t%s\n", formatTime(t.FinishedAt))
	default:
		w.write(2, "%s:\tWaiting\n", title)
	}
}

func capBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// resourceList prints "Limits:" or "Requests:" and each quantity by name.
func resourceList(w *writer, level int, title string, rl corev1.ResourceList) {
	if len(rl) == 0 {
		return
	}
	w.write(level, "%s:\n", title)
	names := make([]string, 0, len(rl))
	for n := range rl {
		names = append(names, string(n))
	}
	sort.Strings(names)
	for _, n := range names {
		q := rl[corev1.ResourceName(n)]
		w.write(level+1, "%s:\t%s\n", n, q.String())
	}
}

// probeString is a probe as kubectl describes it:
// "http-get http://:8080/healthz delay=3s timeout=1s period=10s #success=1 #failure=3".
func probeString(p *corev1.Probe) string {
	attrs := fmt.Sprintf("delay=%ds timeout=%ds period=%ds #success=%d #failure=%d", p.InitialDelaySeconds, p.TimeoutSeconds, p.PeriodSeconds, p.SuccessThreshold, p.FailureThreshold)
	switch {
	case p.Exec != nil:
		return fmt.Sprintf("exec %v %s", p.Exec.Command, attrs)
	case p.HTTPGet != nil:
		scheme := strings.ToLower(string(p.HTTPGet.Scheme))
		if scheme == "" {
			scheme = "http"
		}
		url := fmt.Sprintf("%s://%s:%s%s", scheme, p.HTTPGet.Host, p.HTTPGet.Port.String(), p.HTTPGet.Path)
		return fmt.Sprintf("http-get %s %s", url, attrs)
	case p.TCPSocket != nil:
		return fmt.Sprintf("tcp-socket %s:%s %s", p.TCPSocket.Host, p.TCPSocket.Port.String(), attrs)
	case p.GRPC != nil:
		svc := ""
		if p.GRPC.Service != nil {
			svc = *p.GRPC.Service
		}
		return fmt.Sprintf("grpc <pod>:%d %s %s", p.GRPC.Port, svc, attrs)
	}
	return fmt.Sprintf("unknown %s", attrs)
}

func envFrom(w *writer, from []corev1.EnvFromSource) {
	w.write(2, "Environment Variables from:\n")
	for _, e := range from {
		kind, name, optional := "", "", false
		switch {
		case e.ConfigMapRef != nil:
			kind, name, optional = "ConfigMap", e.ConfigMapRef.Name, e.ConfigMapRef.Optional != nil && *e.ConfigMapRef.Optional
		case e.SecretRef != nil:
			kind, name, optional = "Secret", e.SecretRef.Name, e.SecretRef.Optional != nil && *e.SecretRef.Optional
		}
		if e.Prefix == "" {
			w.write(3, "%s\t%s\tOptional: %t\n", name, kind, optional)
		} else {
			w.write(3, "%s\t%s with prefix '%s'\tOptional: %t\n", name, kind, e.Prefix, optional)
		}
	}
}

func envVars(w *writer, c *corev1.Container, pod *corev1.Pod) {
	if len(c.Env) == 0 {
		w.write(2, "Environment:\t<none>\n")
		return
	}
	w.write(2, "Environment:\n")
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			for i, part := range strings.Split(e.Value, "\n") {
				if i == 0 {
					w.write(3, "%s:\t%s\n", e.Name, part)
				} else {
					w.write(3, "\t%s\n", part)
				}
			}
			continue
		}
		vf := e.ValueFrom
		switch {
		case vf.FieldRef != nil:
			value := ""
			if pod != nil {
				value = fieldValue(pod, vf.FieldRef.FieldPath)
			}
			w.write(3, "%s:\t%s (%s:%s)\n", e.Name, value, vf.FieldRef.APIVersion, vf.FieldRef.FieldPath)
		case vf.ResourceFieldRef != nil:
			value := resourceFieldValue(vf.ResourceFieldRef, c)
			res := vf.ResourceFieldRef.Resource
			if value == "0" && (res == "limits.cpu" || res == "limits.memory") {
				value = "node allocatable"
			}
			w.write(3, "%s:\t%s (%s)\n", e.Name, value, res)
		case vf.SecretKeyRef != nil:
			w.write(3, "%s:\t<set to the key '%s' in secret '%s'>\tOptional: %t\n", e.Name, vf.SecretKeyRef.Key, vf.SecretKeyRef.Name, vf.SecretKeyRef.Optional != nil && *vf.SecretKeyRef.Optional)
		case vf.ConfigMapKeyRef != nil:
			w.write(3, "%s:\t<set to the key '%s' of config map '%s'>\tOptional: %t\n", e.Name, vf.ConfigMapKeyRef.Key, vf.ConfigMapKeyRef.Name, vf.ConfigMapKeyRef.Optional != nil && *vf.ConfigMapKeyRef.Optional)
		default:
			w.write(3, "%s:\t\n", e.Name)
		}
	}
}

// fieldValue is the value of a downward-API field path of a pod.
func fieldValue(pod *corev1.Pod, path string) string {
	switch path {
	case "metadata.name":
		return pod.Name
	case "metadata.namespace":
		return pod.Namespace
	case "metadata.uid":
		return string(pod.UID)
	case "spec.nodeName":
		return pod.Spec.NodeName
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName
	case "status.hostIP":
		return pod.Status.HostIP
	case "status.podIP":
		return pod.Status.PodIP
	case "status.podIPs":
		var ips []string
		for _, ip := range pod.Status.PodIPs {
			ips = append(ips, ip.IP)
		}
		return strings.Join(ips, ",")
	}
	for _, p := range []struct {
		prefix string
		m      map[string]string
	}{{"metadata.labels", pod.Labels}, {"metadata.annotations", pod.Annotations}} {
		if path == p.prefix {
			var lines []string
			for _, k := range sortedKeys(p.m) {
				lines = append(lines, fmt.Sprintf("%s=%q", k, p.m[k]))
			}
			return strings.Join(lines, "\n")
		}
		if rest, ok := strings.CutPrefix(path, p.prefix+"['"); ok {
			return p.m[strings.TrimSuffix(rest, "']")]
		}
	}
	return ""
}

// resourceFieldValue is the value a resourceFieldRef gives a container,
// rounded up to its divisor; "0" when the container sets no such resource.
func resourceFieldValue(ref *corev1.ResourceFieldSelector, c *corev1.Container) string {
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	var q resource.Quantity
	switch ref.Resource {
	case "limits.cpu":
		q = *c.Resources.Limits.Cpu()
	case "requests.cpu":
		q = *c.Resources.Requests.Cpu()
	case "limits.memory":
		q = *c.Resources.Limits.Memory()
	case "requests.memory":
		q = *c.Resources.Requests.Memory()
	case "limits.ephemeral-storage":
		q = *c.Resources.Limits.StorageEphemeral()
	case "requests.ephemeral-storage":
		q = *c.Resources.Requests.StorageEphemeral()
	default:
		return ""
	}
	if strings.HasSuffix(ref.Resource, ".cpu") {
		return fmt.Sprint(int64(math.Ceil(float64(q.MilliValue()) / float64(divisor.MilliValue()))))
	}
	return fmt.Sprint(int64(math.Ceil(float64(q.Value()) / float64(divisor.Value()))))
}

// mounts prints a container's volume mounts sorted by path.
func mounts(w *writer, ms []corev1.VolumeMount) {
	if len(ms) == 0 {
		w.write(2, "Mounts:\t<none>\n")
		return
	}
	w.write(2, "Mounts:\n")
	sorted := append([]corev1.VolumeMount(nil), ms...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].MountPath < sorted[j].MountPath })
	for _, m := range sorted {
		flags := []string{"rw"}
		if m.ReadOnly {
			flags[0] = "ro"
		}
		if m.SubPath != "" {
			flags = append(flags, fmt.Sprintf("path=%q", m.SubPath))
		}
		if m.SubPathExpr != "" {
			flags = append(flags, fmt.Sprintf("path=%q", m.SubPathExpr))
		}
		w.write(3, "%s from %s (%s)\n", m.MountPath, m.Name, strings.Join(flags, ","))
	}
}
