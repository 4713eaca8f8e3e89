package describe_test

import (
	"context"
	"regexp"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"navarch.dev/apiserver/pkg/server"
	"navarch.dev/e2e/clitest"
)

// TestDualStackService: on a dual-stack cluster, `navctl get svc` shows the
// primary cluster IP in CLUSTER-IP and `navctl describe svc` shows the
// policy, both families and both IPs, as kubectl does.
func TestDualStackService(t *testing.T) {
	env := clitest.Start(t, func(o *server.Options) { o.ServiceClusterIPRange = "10.96.0.0/16,fd00:10:96::/112" })
	policy := corev1.IPFamilyPolicyRequireDualStack
	must[*corev1.Service](t)(env.Server.Client.CoreV1().Services("default").Create(context.Background(), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.ServiceSpec{
			IPFamilyPolicy: &policy, IPFamilies: []corev1.IPFamily{corev1.IPv6Protocol},
			ClusterIP: "fd00:10:96::50", ClusterIPs: []string{"fd00:10:96::50", "10.96.0.50"},
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
		},
	}, metav1.CreateOptions{}))

	got := regexp.MustCompile(`\d+s( *)\n`).ReplaceAllString(env.OK(t, "", "get", "svc", "web"), "<age>$1\n")
	want := `NAME   TYPE        CLUSTER-IP       EXTERNAL-IP   PORT(S)   AGE
web    ClusterIP   fd00:10:96::50   <none>        80/TCP    <age>
`
	if got != want {
		t.Errorf("navctl get svc web:\ngot:\n%s\nwant:\n%s", got, want)
	}

	got = normalize(env.OK(t, "", "describe", "svc", "web"))
	want = `Name:                     web
Namespace:                default
Labels:                   <none>
Annotations:              <none>
Selector:                 app=web
Type:                     ClusterIP
IP Family Policy:         RequireDualStack
IP Families:              IPv6,IPv4
IP:                       fd00:10:96::50
IPs:                      fd00:10:96::50,10.96.0.50
Port:                     http  80/TCP
TargetPort:               http/TCP
Endpoints:                <none>
Session Affinity:         None
Internal Traffic Policy:  Cluster
Events:                   <none>
`
	if got != want {
		t.Errorf("navctl describe svc web:\ngot:\n%s\nwant:\n%s", got, want)
	}
}
