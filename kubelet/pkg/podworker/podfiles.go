package podworker

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	v1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Limits of a termination message, upstream's: 4096 bytes from the file,
// or the last 80 lines (at most 2048 bytes) of the log.
const (
	maxTerminationMessage = 4096
	maxFallbackLines      = 80
	maxFallbackBytes      = 2048
)

// podFiles makes the per-pod files the kubelet mounts into container c: the
// managed /etc/hosts (unless the container mounts its own there) and the
// host file behind the terminationMessagePath. It returns their mounts and
// the termination file's host path ("" when there is none).
func (w *Worker) podFiles(pod *v1.Pod, c *v1.Container, podIP string) ([]*runtimeapi.Mount, string, error) {
	if w.cfg.PodsDir == "" {
		return nil, "", nil
	}
	dir := filepath.Join(w.cfg.PodsDir, string(pod.UID))
	var mounts []*runtimeapi.Mount
	if !mountsAt(c, "/etc/hosts") {
		hosts, err := w.hostsFile(pod, podIP)
		if err != nil {
			return nil, "", err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, "", err
		}
		p := filepath.Join(dir, "etc-hosts")
		if err := writeIfChanged(p, hosts); err != nil {
			return nil, "", err
		}
		mounts = append(mounts, &runtimeapi.Mount{ContainerPath: "/etc/hosts", HostPath: p})
	}
	term := ""
	termPath := c.TerminationMessagePath
	if termPath == "" {
		termPath = v1.TerminationMessagePathDefault // a static pod skips API defaulting
	}
	if !mountsAt(c, termPath) {
		cdir := filepath.Join(dir, "containers", c.Name)
		if err := os.MkdirAll(cdir, 0o755); err != nil {
			return nil, "", err
		}
		var b [4]byte
		rand.Read(b[:])
		term = filepath.Join(cdir, hex.EncodeToString(b[:]))
		if err := os.WriteFile(term, nil, 0o666); err != nil {
			return nil, "", err
		}
		// Any user the container runs as may write its message.
		if err := os.Chmod(term, 0o666); err != nil {
			return nil, "", err
		}
		mounts = append(mounts, &runtimeapi.Mount{ContainerPath: termPath, HostPath: term})
	}
	return mounts, term, nil
}

func mountsAt(c *v1.Container, path string) bool {
	for _, m := range c.VolumeMounts {
		if filepath.Clean(m.MountPath) == filepath.Clean(path) {
			return true
		}
	}
	return false
}

func writeIfChanged(path string, data []byte) error {
	if cur, err := os.ReadFile(path); err == nil && bytes.Equal(cur, data) {
		return nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// hostsFile is the pod's /etc/hosts as upstream writes it: localhost
// entries, the pod's own IP under its hostname (and FQDN with a subdomain),
// then hostAliases. A host-network pod gets the node's file plus
// hostAliases.
func (w *Worker) hostsFile(pod *v1.Pod, podIP string) ([]byte, error) {
	var b bytes.Buffer
	if pod.Spec.HostNetwork {
		host, err := os.ReadFile("/etc/hosts")
		if err != nil && !os.IsNotExist(err) {
			return nil, err
		}
		b.Write(host)
		if len(host) > 0 && host[len(host)-1] != '\n' {
			b.WriteByte('\n')
		}
	} else {
		b.WriteString("# Kubernetes-managed hosts file.\n")
		b.WriteString("127.0.0.1\tlocalhost\n")
		b.WriteString("::1\tlocalhost ip6-localhost ip6-loopback\n")
		b.WriteString("fe00::0\tip6-localnet\n")
		b.WriteString("fe00::0\tip6-mcastprefix\n")
		b.WriteString("fe00::1\tip6-allnodes\n")
		b.WriteString("fe00::2\tip6-allrouters\n")
		hostname := pod.Name
		if pod.Spec.Hostname != "" {
			hostname = pod.Spec.Hostname
		}
		if len(hostname) > 63 {
			hostname = strings.TrimRight(hostname[:63], "-.")
		}
		if podIP != "" {
			if pod.Spec.Subdomain != "" {
				fmt.Fprintf(&b, "%s\t%s.%s.%s.svc.%s\t%s\n", podIP, hostname, pod.Spec.Subdomain, pod.Namespace, w.cfg.ClusterDomain, hostname)
			} else {
				fmt.Fprintf(&b, "%s\t%s\n", podIP, hostname)
			}
		}
	}
	if len(pod.Spec.HostAliases) > 0 {
		b.WriteString("\n# Entries added by HostAliases.\n")
		for _, a := range pod.Spec.HostAliases {
			fmt.Fprintf(&b, "%s\t%s\n", a.IP, strings.Join(a.Hostnames, "\t"))
		}
	}
	return b.Bytes(), nil
}

// terminationMessage fills an exited container's message from its
// termination message file, or, with FallbackToLogsOnError after a
// failure, from the end of its log.
func (w *Worker) terminationMessage(pod *v1.Pod, st *runtimeapi.ContainerStatus) {
	if st.Message != "" {
		return
	}
	if p := st.Annotations[annotationTermination]; p != "" {
		if f, err := os.Open(p); err == nil {
			buf := make([]byte, maxTerminationMessage)
			n, _ := f.Read(buf)
			f.Close()
			st.Message = string(buf[:n])
		}
	}
	if st.Message != "" || st.ExitCode == 0 {
		return
	}
	var spec *v1.Container
	for _, c := range allContainers(pod) {
		if c.Name == st.GetMetadata().GetName() {
			spec = &c
		}
	}
	if spec == nil || spec.TerminationMessagePolicy != v1.TerminationMessageFallbackToLogsOnError || st.LogPath == "" {
		return
	}
	st.Message = logTail(st.LogPath)
}

// logTail is the message part of the last lines of a CRI log file
// ("<time> <stream> <P|F> <msg>" per line).
func logTail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > maxFallbackLines {
		lines = lines[len(lines)-maxFallbackLines:]
	}
	var b strings.Builder
	for _, l := range lines {
		parts := strings.SplitN(l, " ", 4)
		if len(parts) == 4 {
			b.WriteString(parts[3])
			if parts[2] == "F" {
				b.WriteByte('\n')
			}
		}
	}
	out := b.String()
	if len(out) > maxFallbackBytes {
		out = out[len(out)-maxFallbackBytes:]
	}
	return out
}
