package endpointslice_test

import (
	"context"
	"slices"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"

	"navarch.dev/apiserver/pkg/server"
	"navarch.dev/apiserver/testserver"
	"navarch.dev/controller-manager/pkg/controller/endpointslice"
)

// TestDualStackServiceAgainstAPIServer runs the controller against a real
// dual-stack apiserver: a RequireDualStack Service gets an IPv4 and an IPv6
// slice listing its pod's address of each family, and the IPv6 slice goes
// when the Service is downgraded to SingleStack.
func TestDualStackServiceAgainstAPIServer(t *testing.T) {
	ts := testserver.Start(t, func(o *server.Options) { o.ServiceClusterIPRange = "10.96.0.0/16,fd00:10:96::/112" })
	cs := ts.Client
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := informers.NewSharedInformerFactory(cs, 0)
	c, err := endpointslice.New(f.Core().V1().Services(), f.Core().V1().Pods(), f.Discovery().V1().EndpointSlices(), cs)
	if err != nil {
		t.Fatal(err)
	}
	f.Start(ctx.Done())
	done := make(chan struct{})
	go func() { c.Run(ctx, 1); close(done) }()
	defer func() { cancel(); <-done; f.Shutdown() }()

	policy := v1.IPFamilyPolicyRequireDualStack
	if _, err := cs.CoreV1().Services("default").Create(ctx, &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: v1.ServiceSpec{IPFamilyPolicy: &policy, Selector: map[string]string{"app": "web"},
			Ports: []v1.ServicePort{{Name: "http", Port: 80}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod, err := cs.CoreV1().Pods("default").Create(ctx, &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Labels: map[string]string{"app": "web"}},
		Spec:       v1.PodSpec{NodeName: "node-1", Containers: []v1.Container{{Name: "c", Image: "busybox"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod.Status = v1.PodStatus{
		Phase: v1.PodRunning, PodIP: "10.244.0.5", PodIPs: []v1.PodIP{{IP: "10.244.0.5"}, {IP: "fd00:244::5"}},
		Conditions: []v1.PodCondition{{Type: v1.PodReady, Status: v1.ConditionTrue}},
	}
	if _, err := cs.CoreV1().Pods("default").UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	// waitSlices waits until the Service's slices are, as "TYPE:address",
	// exactly want.
	waitSlices := func(want ...string) {
		t.Helper()
		var got []string
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			l, err := cs.DiscoveryV1().EndpointSlices("default").List(ctx, metav1.ListOptions{LabelSelector: discovery.LabelServiceName + "=web"})
			if err != nil {
				return false, err
			}
			got = nil
			for _, s := range l.Items {
				for _, e := range s.Endpoints {
					got = append(got, string(s.AddressType)+":"+e.Addresses[0])
				}
			}
			slices.Sort(got)
			return slices.Equal(got, want), nil
		})
		if err != nil {
			t.Fatalf("slices %v, want %v: %v", got, want, err)
		}
	}
	waitSlices("IPv4:10.244.0.5", "IPv6:fd00:244::5")

	svc, err := cs.CoreV1().Services("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	single := v1.IPFamilyPolicySingleStack
	svc.Spec.IPFamilyPolicy = &single
	if _, err := cs.CoreV1().Services("default").Update(ctx, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("downgrade to SingleStack: %v", err)
	}
	waitSlices("IPv4:10.244.0.5")
}
