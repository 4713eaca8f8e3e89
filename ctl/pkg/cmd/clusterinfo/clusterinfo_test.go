package clusterinfo_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/e2e/clitest"
)

func TestClusterInfo(t *testing.T) {
	env := clitest.Start(t)
	c := env.Server.Client
	ctx := context.Background()
	hint := "\nTo further debug and diagnose cluster problems, use 'navctl cluster-info dump'.\n"

	if got, want := env.OK(t, "", "cluster-info"), "Kubernetes control plane is running at "+env.Server.URL+"\n"+hint; got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}

	dns := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-dns", Namespace: "kube-system", Labels: map[string]string{
			"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS",
		}},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP}, {Name: "dns-tcp", Port: 53}}},
	}
	if _, err := c.CoreV1().Services("kube-system").Create(ctx, dns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	want := "Kubernetes control plane is running at " + env.Server.URL + "\n" +
		"CoreDNS is running at " + env.Server.URL + "/api/v1/namespaces/kube-system/services/kube-dns:dns/proxy\n" + hint
	if got := env.OK(t, "", "cluster-info"); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}

	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
	if _, err := c.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Run("dump to stdout", func(t *testing.T) {
		out := env.OK(t, "", "cluster-info", "dump")
		for _, want := range []string{
			"{\n    \"kind\": \"NodeList\",\n    \"apiVersion\": \"v1\",",
			"\"kind\": \"PodList\"",
			"\"name\": \"kube-dns\"",
			"==== START logs for container c of pod default/web ====\n",
			"==== END logs for container c of pod default/web ====\n",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("dump lacks %q", want)
			}
		}
		if i, j := strings.Index(out, `"name": "kube-dns"`), strings.Index(out, `"name": "web"`); i > j {
			t.Errorf("kube-system is dumped before default")
		}
	})
	t.Run("dump to a directory", func(t *testing.T) {
		dir := t.TempDir()
		if got := env.OK(t, "", "cluster-info", "dump", "--output-directory", dir, "--namespaces", "default"); got != "Cluster info dumped to "+dir+"\n" {
			t.Errorf("stdout = %q", got)
		}
		for _, f := range []string{"nodes.json", "default/pods.json", "default/services.json", "default/events.json", "default/web/logs.txt"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Error(err)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "kube-system")); err == nil {
			t.Error("kube-system dumped though only default was asked for")
		}
	})
}
