package manifests

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// staticPodSpecs: each manifest in manifests/static-pods, the binary its
// image holds, and the health endpoint its liveness probe asks.
var staticPodSpecs = []struct {
	file, binary, probePath string
	probePort               int
}{
	{file: "etcd.yaml", binary: "navarch-etcd", probePath: "/livez", probePort: 2381},
	{file: "navarch-apiserver.yaml", binary: "navarch-apiserver", probePath: "/livez", probePort: 6443},
	{file: "navarch-controller-manager.yaml", binary: "navarch-controller-manager", probePath: "/healthz", probePort: 10252},
	{file: "navarch-scheduler.yaml", binary: "navarch-scheduler", probePath: "/healthz", probePort: 10251},
}

// readPod decodes a manifest strictly: a misspelt field is an error here,
// not a silently ignored setting on the node.
func readPod(t *testing.T, path string) *v1.Pod {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var pod v1.Pod
	if err := yaml.UnmarshalStrict(data, &pod); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &pod
}

// TestStaticPodManifests checks what a control-plane node's kubelet needs of
// each manifest and runs each container's command line through the flag
// parser of the binary its image holds (hack/images.sh puts it at /<name>).
func TestStaticPodManifests(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "manifests", "static-pods")
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	var got, want []string
	for _, f := range files {
		got = append(got, filepath.Base(f))
	}
	for _, s := range staticPodSpecs {
		want = append(want, s.file)
	}
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Fatalf("manifests/static-pods holds %v, want %v", got, want)
	}
	for _, s := range staticPodSpecs {
		t.Run(s.file, func(t *testing.T) {
			pod := readPod(t, filepath.Join(dir, s.file))
			if pod.Kind != "Pod" || pod.APIVersion != "v1" {
				t.Errorf("kind %s/%s, want v1/Pod", pod.APIVersion, pod.Kind)
			}
			if pod.Namespace != "kube-system" {
				t.Errorf("namespace %q, want kube-system", pod.Namespace)
			}
			if !pod.Spec.HostNetwork {
				t.Error("hostNetwork is not set")
			}
			if pod.Spec.PriorityClassName != "system-node-critical" {
				t.Errorf("priorityClassName %q, want system-node-critical", pod.Spec.PriorityClassName)
			}
			if pod.Labels["tier"] != "control-plane" {
				t.Errorf("labels %v lack tier: control-plane", pod.Labels)
			}
			for _, vol := range pod.Spec.Volumes {
				if vol.HostPath == nil {
					t.Errorf("volume %s is not a hostPath", vol.Name)
					continue
				}
				if !strings.HasPrefix(vol.HostPath.Path, "/etc/navarch") && !strings.HasPrefix(vol.HostPath.Path, "/var/lib/navarch/") {
					t.Errorf("volume %s mounts %s, outside /etc/navarch and /var/lib/navarch", vol.Name, vol.HostPath.Path)
				}
			}
			if len(pod.Spec.Containers) != 1 {
				t.Fatalf("%d containers, want 1", len(pod.Spec.Containers))
			}
			c := pod.Spec.Containers[0]
			if wantImage := "registry.navarch.local/" + s.binary + ":dev"; c.Image != wantImage {
				t.Errorf("image %s, want %s (built by hack/images.sh)", c.Image, wantImage)
			}
			if c.ImagePullPolicy != v1.PullIfNotPresent && c.ImagePullPolicy != v1.PullNever {
				t.Errorf("imagePullPolicy %q: the images are local, it must be IfNotPresent or Never", c.ImagePullPolicy)
			}
			lp := c.LivenessProbe
			switch {
			case lp == nil || lp.HTTPGet == nil:
				t.Error("no HTTP liveness probe")
			case lp.HTTPGet.Path != s.probePath || lp.HTTPGet.Port.IntValue() != s.probePort:
				t.Errorf("liveness probe asks %s on %s, want %s on %d", lp.HTTPGet.Path, lp.HTTPGet.Port.String(), s.probePath, s.probePort)
			}
			argv := append(append([]string{}, c.Command...), c.Args...)
			if len(argv) == 0 || argv[0] != "/"+s.binary {
				t.Fatalf("runs %v, want /%s", argv, s.binary)
			}
			if err := flagsAccepted(s.binary, argv[1:]); err != nil {
				t.Error(err)
			}
			mounts := map[string]bool{}
			for _, m := range c.VolumeMounts {
				mounts[m.Name] = true
			}
			for _, vol := range pod.Spec.Volumes {
				if !mounts[vol.Name] {
					t.Errorf("volume %s is not mounted", vol.Name)
				}
			}
		})
	}
}
