package podworker

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func service(ns, name, ip string, ports ...v1.ServicePort) *v1.Service {
	return &v1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: v1.ServiceSpec{ClusterIP: ip, Ports: ports}}
}

func tcp(name string, port int32) v1.ServicePort {
	return v1.ServicePort{Name: name, Port: port, Protocol: v1.ProtocolTCP}
}

// containerEnv is the environment the worker builds for the pod's first
// container, by name.
func containerEnv(t *testing.T, svcs []*v1.Service, pod *v1.Pod) map[string]string {
	t.Helper()
	w := New(Config{}, Options{Services: func() ([]*v1.Service, error) { return svcs, nil }})
	kvs, err := w.makeEnv(context.Background(), pod, &pod.Spec.Containers[0], "10.244.0.7")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, kv := range kvs {
		if _, dup := env[kv.Key]; dup {
			t.Errorf("variable %s set twice", kv.Key)
		}
		env[kv.Key] = string(kv.Value)
	}
	return env
}

func TestServiceEnv(t *testing.T) {
	master := service("default", "kubernetes", "10.96.0.1", tcp("https", 443))
	masterEnv := map[string]string{
		"KUBERNETES_SERVICE_HOST":       "10.96.0.1",
		"KUBERNETES_SERVICE_PORT":       "443",
		"KUBERNETES_SERVICE_PORT_HTTPS": "443",
		"KUBERNETES_PORT":               "tcp://10.96.0.1:443",
		"KUBERNETES_PORT_443_TCP":       "tcp://10.96.0.1:443",
		"KUBERNETES_PORT_443_TCP_PROTO": "tcp",
		"KUBERNETES_PORT_443_TCP_PORT":  "443",
		"KUBERNETES_PORT_443_TCP_ADDR":  "10.96.0.1",
	}
	web := service("team-a", "web-app", "10.96.5.5", tcp("", 80))
	webEnv := map[string]string{
		"WEB_APP_SERVICE_HOST":      "10.96.5.5",
		"WEB_APP_SERVICE_PORT":      "80",
		"WEB_APP_PORT":              "tcp://10.96.5.5:80",
		"WEB_APP_PORT_80_TCP":       "tcp://10.96.5.5:80",
		"WEB_APP_PORT_80_TCP_PROTO": "tcp",
		"WEB_APP_PORT_80_TCP_PORT":  "80",
		"WEB_APP_PORT_80_TCP_ADDR":  "10.96.5.5",
	}
	ownKubernetes := service("team-a", "kubernetes", "10.96.9.9", tcp("", 8443))
	other := service("team-b", "db", "10.96.7.7", tcp("", 5432))
	headless := service("team-a", "headless", v1.ClusterIPNone, tcp("", 80))
	no := false
	merge := func(ms ...map[string]string) map[string]string {
		out := map[string]string{}
		for _, m := range ms {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	tests := []struct {
		name  string
		svcs  []*v1.Service
		ns    string
		links *bool
		env   []v1.EnvVar
		want  map[string]string
	}{
		{name: "pod in another namespace gets the master service", svcs: []*v1.Service{master, other, headless}, ns: "team-a", want: masterEnv},
		{name: "own namespace's services too", svcs: []*v1.Service{web, master, other}, ns: "team-a", want: merge(masterEnv, webEnv)},
		{name: "master service without service links", svcs: []*v1.Service{master, web}, ns: "team-a", links: &no, want: masterEnv},
		{name: "pod in default", svcs: []*v1.Service{master}, ns: "default", want: masterEnv},
		{name: "own kubernetes service wins (listed after)", svcs: []*v1.Service{master, ownKubernetes}, ns: "team-a", want: map[string]string{
			"KUBERNETES_SERVICE_HOST": "10.96.9.9", "KUBERNETES_SERVICE_PORT": "8443", "KUBERNETES_PORT": "tcp://10.96.9.9:8443",
			"KUBERNETES_PORT_8443_TCP": "tcp://10.96.9.9:8443", "KUBERNETES_PORT_8443_TCP_PROTO": "tcp",
			"KUBERNETES_PORT_8443_TCP_PORT": "8443", "KUBERNETES_PORT_8443_TCP_ADDR": "10.96.9.9"}},
		{name: "own kubernetes service wins (listed before)", svcs: []*v1.Service{ownKubernetes, master}, ns: "team-a", want: map[string]string{
			"KUBERNETES_SERVICE_HOST": "10.96.9.9", "KUBERNETES_SERVICE_PORT": "8443", "KUBERNETES_PORT": "tcp://10.96.9.9:8443",
			"KUBERNETES_PORT_8443_TCP": "tcp://10.96.9.9:8443", "KUBERNETES_PORT_8443_TCP_PROTO": "tcp",
			"KUBERNETES_PORT_8443_TCP_PORT": "8443", "KUBERNETES_PORT_8443_TCP_ADDR": "10.96.9.9"}},
		{name: "without links the master service, not the namespace's", svcs: []*v1.Service{ownKubernetes, master}, ns: "team-a", links: &no, want: masterEnv},
		{name: "container env overrides", svcs: []*v1.Service{master}, ns: "team-a",
			env:  []v1.EnvVar{{Name: "KUBERNETES_SERVICE_HOST", Value: "api.example"}},
			want: merge(masterEnv, map[string]string{"KUBERNETES_SERVICE_HOST": "api.example"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &v1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: tt.ns},
				Spec:       v1.PodSpec{EnableServiceLinks: tt.links, Containers: []v1.Container{{Name: "c", Env: tt.env}}},
			}
			got := containerEnv(t, tt.svcs, pod)
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			for k := range got {
				if _, ok := tt.want[k]; !ok {
					t.Errorf("unexpected %s = %q", k, got[k])
				}
			}
		})
	}
}
