package rollout

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/url"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// describeTemplate renders a pod template the way kubectl describe prints
// one ("Pod Template:" with labels, containers, volumes, ...), as rollout
// history --revision and undo --dry-run show a revision.
func describeTemplate(t *corev1.PodTemplateSpec) string {
	var buf bytes.Buffer
	w := &levelWriter{w: &buf}
	w.line(0, "Pod Template:\n")
	multiline(w, "  Labels", t.Labels)
	if len(t.Annotations) > 0 {
		annotations(w, "  Annotations", t.Annotations)
	}
	if t.Spec.ServiceAccountName != "" {
		w.line(1, "Service Account:\t%s\n", t.Spec.ServiceAccountName)
	}
	if len(t.Spec.InitContainers) > 0 {
		containers(w, "Init Containers", t.Spec.InitContainers)
	}
	containers(w, "Containers", t.Spec.Containers)
	volumes(w, t.Spec.Volumes)
	if t.Spec.PriorityClassName != "" {
		w.line(1, "Priority Class Name:\t%s\n", t.Spec.PriorityClassName)
	}
	multiline(w, "  Node-Selectors", t.Spec.NodeSelector)
	tolerations(w, "  Tolerations", t.Spec.Tolerations)
	return buf.String()
}

// levelWriter indents by two spaces per level.
type levelWriter struct{ w io.Writer }

func (l *levelWriter) line(level int, format string, args ...any) {
	fmt.Fprintf(l.w, strings.Repeat("  ", level)+format, args...)
}

func multiline(w *levelWriter, title string, m map[string]string) {
	w.line(0, "%s:\t", title)
	if len(m) == 0 {
		w.line(0, "<none>\n")
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i > 0 {
			w.line(0, "\t")
		}
		w.line(0, "%s=%s\n", k, m[k])
	}
}

func annotations(w *levelWriter, title string, m map[string]string) {
	w.line(0, "%s:\t", title)
	keys := make([]string, 0, len(m))
	for k := range m {
		if k == corev1.LastAppliedConfigAnnotation {
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		w.line(0, "<none>\n")
		return
	}
	sort.Strings(keys)
	const maxLen = 140
	for i, k := range keys {
		if i > 0 {
			w.line(0, "\t")
		}
		v := strings.TrimSuffix(m[k], "\n")
		if len(v)+len(k)+2 > maxLen || strings.Contains(v, "\n") {
			w.line(0, "%s:\n", k)
			for _, s := range strings.Split(v, "\n") {
				if len(s) > maxLen-2 {
					s = s[:maxLen-2] + "..."
				}
				w.line(0, "\t  %s\n", s)
			}
			continue
		}
		w.line(0, "%s: %s\n", k, v)
	}
}

func containers(w *levelWriter, label string, cs []corev1.Container) {
	none := ""
	if len(cs) == 0 {
		none = " <none>"
	}
	w.line(0, "  %s:%s\n", label, none)
	for _, c := range cs {
		w.line(1, " %s:\n", c.Name)
		w.line(2, "Image:\t%s\n", c.Image)
		var ports, hostPorts []string
		for _, p := range c.Ports {
			suffix := ""
			if p.Name != "" {
				suffix = fmt.Sprintf(" (%s)", p.Name)
			}
			ports = append(ports, fmt.Sprintf("%d/%s%s", p.ContainerPort, p.Protocol, suffix))
			hostPorts = append(hostPorts, fmt.Sprintf("%d/%s%s", p.HostPort, p.Protocol, suffix))
		}
		portLine(w, "Port", ports)
		portLine(w, "Host Port", hostPorts)
		for _, part := range []struct {
			title string
			lines []string
		}{{"Command", c.Command}, {"Args", c.Args}} {
			if len(part.lines) == 0 {
				continue
			}
			w.line(2, "%s:\n", part.title)
			for _, l := range part.lines {
				for _, s := range strings.Split(l, "\n") {
					w.line(3, "%s\n", s)
				}
			}
		}
		resources(w, "Limits", c.Resources.Limits)
		resources(w, "Requests", c.Resources.Requests)
		for _, p := range []struct {
			title string
			probe *corev1.Probe
		}{{"Liveness", c.LivenessProbe}, {"Readiness", c.ReadinessProbe}, {"Startup", c.StartupProbe}} {
			if p.probe != nil {
				w.line(2, "%s:\t%s\n", p.title, describeProbe(p.probe))
			}
		}
		if len(c.EnvFrom) > 0 {
			w.line(2, "Environment Variables from:\n")
			for _, e := range c.EnvFrom {
				from, name, optional := "", "", false
				if e.ConfigMapRef != nil {
					from, name, optional = "ConfigMap", e.ConfigMapRef.Name, e.ConfigMapRef.Optional != nil && *e.ConfigMapRef.Optional
				} else if e.SecretRef != nil {
					from, name, optional = "Secret", e.SecretRef.Name, e.SecretRef.Optional != nil && *e.SecretRef.Optional
				}
				if e.Prefix == "" {
					w.line(3, "%s\t%s\tOptional: %t\n", name, from, optional)
				} else {
					w.line(3, "%s\t%s with prefix '%s'\tOptional: %t\n", name, from, e.Prefix, optional)
				}
			}
		}
		env(w, c.Env)
		mounts(w, c.VolumeMounts)
	}
}

func portLine(w *levelWriter, title string, ports []string) {
	s := strings.Join(ports, ", ")
	if strings.Contains(s, ",") {
		w.line(2, "%ss:\t%s\n", title, s)
		return
	}
	if s == "" {
		s = "<none>"
	}
	w.line(2, "%s:\t%s\n", title, s)
}

func resources(w *levelWriter, title string, rl corev1.ResourceList) {
	if len(rl) == 0 {
		return
	}
	w.line(2, "%s:\n", title)
	names := make([]string, 0, len(rl))
	for n := range rl {
		names = append(names, string(n))
	}
	sort.Strings(names)
	for _, n := range names {
		q := rl[corev1.ResourceName(n)]
		w.line(3, "%s:\t%s\n", n, q.String())
	}
}

func env(w *levelWriter, vars []corev1.EnvVar) {
	if len(vars) == 0 {
		w.line(2, "Environment:\t<none>\n")
		return
	}
	w.line(2, "Environment:\n")
	for _, e := range vars {
		switch {
		case e.ValueFrom == nil:
			for i, s := range strings.Split(e.Value, "\n") {
				if i == 0 {
					w.line(3, "%s:\t%s\n", e.Name, s)
				} else {
					w.line(3, "\t%s\n", s)
				}
			}
		case e.ValueFrom.FieldRef != nil:
			w.line(3, "%s:\t (%s:%s)\n", e.Name, e.ValueFrom.FieldRef.APIVersion, e.ValueFrom.FieldRef.FieldPath)
		case e.ValueFrom.ResourceFieldRef != nil:
			w.line(3, "%s:\t (%s)\n", e.Name, e.ValueFrom.ResourceFieldRef.Resource)
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			w.line(3, "%s:\t<set to the key '%s' in secret '%s'>\tOptional: %t\n", e.Name, ref.Key, ref.Name, ref.Optional != nil && *ref.Optional)
		case e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			w.line(3, "%s:\t<set to the key '%s' of config map '%s'>\tOptional: %t\n", e.Name, ref.Key, ref.Name, ref.Optional != nil && *ref.Optional)
		}
	}
}

func mounts(w *levelWriter, ms []corev1.VolumeMount) {
	if len(ms) == 0 {
		w.line(2, "Mounts:\t<none>\n")
		return
	}
	w.line(2, "Mounts:\n")
	ms = append([]corev1.VolumeMount(nil), ms...)
	sort.Slice(ms, func(i, j int) bool { return ms[i].MountPath < ms[j].MountPath })
	for _, m := range ms {
		flags := []string{"rw"}
		if m.ReadOnly {
			flags = []string{"ro"}
		}
		if m.SubPath != "" {
			flags = append(flags, fmt.Sprintf("path=%q", m.SubPath))
		}
		w.line(3, "%s from %s (%s)\n", m.MountPath, m.Name, strings.Join(flags, ","))
	}
}

func volumes(w *levelWriter, vs []corev1.Volume) {
	if len(vs) == 0 {
		w.line(0, "  Volumes:\t<none>\n")
		return
	}
	w.line(0, "  Volumes:\n")
	for _, v := range vs {
		w.line(1, " %s:\n", v.Name)
		switch s := v.VolumeSource; {
		case s.HostPath != nil:
			t := "<none>"
			if s.HostPath.Type != nil {
				t = string(*s.HostPath.Type)
			}
			w.line(2, "Type:\tHostPath (bare host directory volume)\n    Path:\t%v\n    HostPathType:\t%v\n", s.HostPath.Path, t)
		case s.EmptyDir != nil:
			limit := "<unset>"
			if s.EmptyDir.SizeLimit != nil && !s.EmptyDir.SizeLimit.IsZero() {
				limit = s.EmptyDir.SizeLimit.String()
			}
			w.line(2, "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n    Medium:\t%v\n    SizeLimit:\t%v\n", s.EmptyDir.Medium, limit)
		case s.Secret != nil:
			w.line(2, "Type:\tSecret (a volume populated by a Secret)\n    SecretName:\t%v\n    Optional:\t%v\n", s.Secret.SecretName, s.Secret.Optional != nil && *s.Secret.Optional)
		case s.ConfigMap != nil:
			w.line(2, "Type:\tConfigMap (a volume populated by a ConfigMap)\n    Name:\t%v\n    Optional:\t%v\n", s.ConfigMap.Name, s.ConfigMap.Optional != nil && *s.ConfigMap.Optional)
		case s.PersistentVolumeClaim != nil:
			w.line(2, "Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)\n    ClaimName:\t%v\n    ReadOnly:\t%v\n", s.PersistentVolumeClaim.ClaimName, s.PersistentVolumeClaim.ReadOnly)
		default:
			w.line(2, "<unknown>\n")
		}
	}
}

func tolerations(w *levelWriter, title string, ts []corev1.Toleration) {
	w.line(0, "%s:\t", title)
	if len(ts) == 0 {
		w.line(0, "<none>\n")
		return
	}
	ts = append([]corev1.Toleration(nil), ts...)
	sort.Slice(ts, func(i, j int) bool { return ts[i].Key < ts[j].Key })
	for i, t := range ts {
		if i > 0 {
			w.line(0, "\t")
		}
		s := t.Key
		if t.Value != "" {
			s += "=" + t.Value
		}
		if t.Effect != "" {
			s += ":" + string(t.Effect)
		}
		if t.Operator == corev1.TolerationOpExists && t.Value == "" {
			if t.Key != "" || t.Effect != "" {
				s += " op=Exists"
			} else {
				s += "op=Exists"
			}
		}
		if t.TolerationSeconds != nil {
			s += fmt.Sprintf(" for %ds", *t.TolerationSeconds)
		}
		w.line(0, "%s\n", s)
	}
}

func describeProbe(p *corev1.Probe) string {
	attrs := fmt.Sprintf("delay=%ds timeout=%ds period=%ds #success=%d #failure=%d", p.InitialDelaySeconds, p.TimeoutSeconds, p.PeriodSeconds, p.SuccessThreshold, p.FailureThreshold)
	switch {
	case p.Exec != nil:
		return fmt.Sprintf("exec %v %s", p.Exec.Command, attrs)
	case p.HTTPGet != nil:
		u := &url.URL{Scheme: strings.ToLower(string(p.HTTPGet.Scheme)), Host: p.HTTPGet.Host, Path: p.HTTPGet.Path}
		if port := p.HTTPGet.Port.String(); port != "" {
			u.Host = net.JoinHostPort(p.HTTPGet.Host, port)
		}
		return fmt.Sprintf("http-get %s %s", u.String(), attrs)
	case p.TCPSocket != nil:
		return fmt.Sprintf("tcp-socket %s:%s %s", p.TCPSocket.Host, p.TCPSocket.Port.String(), attrs)
	case p.GRPC != nil:
		service := ""
		if p.GRPC.Service != nil {
			service = *p.GRPC.Service
		}
		return fmt.Sprintf("grpc <pod>:%d %s %s", p.GRPC.Port, service, attrs)
	}
	return fmt.Sprintf("unknown %s", attrs)
}
