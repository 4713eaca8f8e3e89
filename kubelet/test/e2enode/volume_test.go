package e2enode

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/apiserver/testserver"
	"navarch.dev/kubelet/internal/nodetest"
	"navarch.dev/kubelet/pkg/volume"
)

// TestVolumesReachThePod runs busybox httpd serving what the pod sees: a
// ConfigMap volume, a Secret volume, an env var from the ConfigMap and its
// /etc/hosts, from a tmpfs emptyDir. A ConfigMap update must reach the
// running pod. A second pod leaves a termination message.
func TestVolumesReachThePod(t *testing.T) {
	nodetest.Runtime(t)
	ts := testserver.Start(t)
	client := ts.Client
	ctx := context.Background()
	ensureLeaseNamespace(t, client)
	node := testNodeName("e2evol")
	cfg := nodeConfig(t, node)
	runKubelet(t, client, cfg)

	if _, err := client.CoreV1().ConfigMaps("default").Create(ctx, &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "app"},
		Data: map[string]string{"greeting": "hello v1"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Secrets("default").Create(ctx, &v1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds"},
		Data: map[string][]byte{"password": []byte("s3cret")}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "vols", Namespace: "default"},
		Spec: v1.PodSpec{
			NodeName: node, TerminationGracePeriodSeconds: int64p(1),
			Containers: []v1.Container{{
				Name: "httpd", Image: nodetest.BusyboxImage, ImagePullPolicy: v1.PullNever,
				Command: []string{"sh", "-c", "ln -s /etc/cfg /www/cfg && ln -s /etc/sec /www/sec && echo \"$GREETING\" > /www/env && cp /etc/hosts /www/hosts && exec httpd -f -p 8080 -h /www"},
				Env: []v1.EnvVar{{Name: "GREETING", ValueFrom: &v1.EnvVarSource{ConfigMapKeyRef: &v1.ConfigMapKeySelector{
					LocalObjectReference: v1.LocalObjectReference{Name: "app"}, Key: "greeting"}}}},
				VolumeMounts: []v1.VolumeMount{{Name: "cfg", MountPath: "/etc/cfg"}, {Name: "sec", MountPath: "/etc/sec"}, {Name: "www", MountPath: "/www"}},
			}},
			Volumes: []v1.Volume{
				{Name: "cfg", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "app"}}}},
				{Name: "sec", VolumeSource: v1.VolumeSource{Secret: &v1.SecretVolumeSource{SecretName: "creds"}}},
				{Name: "www", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{Medium: v1.StorageMediumMemory}}},
			},
		},
	}
	created, err := client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	running := waitPod(t, client, "default", "vols", "Running and Ready", podReady)
	base := "http://" + running.Status.PodIP + ":8080/"
	want := map[string]string{"cfg/greeting": "hello v1", "sec/password": "s3cret", "env": "hello v1\n"}
	for path, content := range want {
		var body string
		poll(t, "GET "+path, func() (bool, error) {
			var err error
			body, err = get(base + path)
			return err == nil, err
		})
		if body != content {
			t.Errorf("GET %s = %q, want %q", path, body, content)
		}
	}
	hosts, err := get(base + "hosts")
	if err != nil || !strings.Contains(hosts, running.Status.PodIP+"\tvols") || !strings.Contains(hosts, "Kubernetes-managed") {
		t.Errorf("/etc/hosts = %q (%v), want the managed file with %s vols", hosts, err, running.Status.PodIP)
	}
	mounts, err := volume.MountsUnder(cfg.PodsDir)
	if err != nil || len(mounts) != 1 {
		t.Errorf("mounts under the pods dir = %v (%v), want the tmpfs emptyDir", mounts, err)
	}

	cm, err := client.CoreV1().ConfigMaps("default").Get(ctx, "app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data["greeting"] = "hello v2"
	if _, err := client.CoreV1().ConfigMaps("default").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "updated ConfigMap in the running pod", func() (bool, error) {
		body, err := get(base + "cfg/greeting")
		return body == "hello v2", err
	})

	// Termination message from the file, and from the log on error.
	never := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "bye", Namespace: "default"},
		Spec: v1.PodSpec{
			NodeName: node, RestartPolicy: v1.RestartPolicyNever,
			Containers: []v1.Container{
				{Name: "file", Image: nodetest.BusyboxImage, ImagePullPolicy: v1.PullNever,
					Command: []string{"sh", "-c", "echo -n done for now > /dev/termination-log; exit 3"}},
				{Name: "logs", Image: nodetest.BusyboxImage, ImagePullPolicy: v1.PullNever,
					TerminationMessagePolicy: v1.TerminationMessageFallbackToLogsOnError,
					Command:                  []string{"sh", "-c", "echo it broke; exit 1"}},
			},
		},
	}
	if _, err := client.CoreV1().Pods("default").Create(ctx, never, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	done := waitPod(t, client, "default", "bye", "Failed", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodFailed })
	msgs := map[string]string{}
	for _, cs := range done.Status.ContainerStatuses {
		if cs.State.Terminated != nil {
			msgs[cs.Name] = cs.State.Terminated.Message
		}
	}
	if msgs["file"] != "done for now" || msgs["logs"] != "it broke\n" {
		t.Errorf("termination messages = %q, want the file's and the log's", msgs)
	}

	deletePod(t, client, "default", "bye")
	deletePod(t, client, "default", "vols")
	if mounts, _ := volume.MountsUnder(cfg.PodsDir); len(mounts) != 0 {
		t.Errorf("mounts left after delete: %v", mounts)
	}
	if _, err := os.Stat(filepath.Join(cfg.PodsDir, string(created.UID))); !os.IsNotExist(err) {
		t.Errorf("pod directory left after delete (%v)", err)
	}
}
