// Package multinode runs a whole cluster on one machine: the control plane
// in one network namespace and each node (its own containerd, kubelet and
// proxy) in another, joined by a bridge. It checks what a user of a
// multi-node cluster sees: pods spread over the nodes, reach each other and
// Services across nodes by IP, by ClusterIP and by name through the cluster
// DNS, and the pods of a node that stops are recreated on the others.
package multinode

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

const (
	nodeCount = 3
	replicas  = 4
	busybox   = "docker.io/library/busybox:1.36"
	ns        = "default"
)

func TestMultiNode(t *testing.T) {
	start := time.Now()
	c := newCluster(t, nodeCount)
	ctx := context.Background()
	t.Logf("cluster of %d nodes started in %v", nodeCount, time.Since(start).Round(time.Second))

	// Every node registers, becomes Ready and gets a pod CIDR from node IPAM.
	cidrs := map[string]string{}
	c.waitFor("all nodes Ready with a pod CIDR", 3*time.Minute, func() (bool, error) {
		for _, nd := range c.nodes {
			n, err := c.client.CoreV1().Nodes().Get(ctx, nd.name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			if !ready(n) || n.Spec.PodCIDR == "" {
				return false, fmt.Errorf("node %s: ready=%v podCIDR=%q", nd.name, ready(n), n.Spec.PodCIDR)
			}
			cidrs[nd.name] = n.Spec.PodCIDR
		}
		return true, nil
	})
	t.Logf("nodes Ready after %v: pod CIDRs %v", time.Since(start).Round(time.Second), cidrs)

	// A Deployment whose pods serve their own name on 8080, spread over the
	// nodes, tolerating a lost node for a few seconds only.
	c.createWeb(ctx)
	pods := c.waitWebReady(ctx, replicas, "")
	onNode := map[string][]v1.Pod{}
	for _, p := range pods {
		onNode[p.Spec.NodeName] = append(onNode[p.Spec.NodeName], p)
	}
	for _, nd := range c.nodes {
		if len(onNode[nd.name]) == 0 {
			t.Errorf("no web pod on node %s: placement %v", nd.name, placement(pods))
		}
	}
	for _, p := range pods {
		if !inCIDR(p.Status.PodIP, cidrs[p.Spec.NodeName]) {
			t.Errorf("pod %s on %s has IP %s, outside the node's pod CIDR %s", p.Name, p.Spec.NodeName, p.Status.PodIP, cidrs[p.Spec.NodeName])
		}
	}
	t.Logf("web pods Ready after %v: %v", time.Since(start).Round(time.Second), placement(pods))

	svc, err := c.client.CoreV1().Services(ns).Create(ctx, &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: v1.ServiceSpec{Selector: map[string]string{"app": "web"},
			Ports: []v1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// From a pod on the first node: every web pod on another node by its IP,
	// the Service by name (cluster DNS) and by ClusterIP.
	client := c.nodes[0].name
	var targets []v1.Pod
	for _, p := range pods {
		if p.Spec.NodeName != client {
			targets = append(targets, p)
		}
	}
	if len(targets) == 0 {
		t.Fatalf("no web pod outside %s to reach: %v", client, placement(pods))
	}
	webNames := map[string]bool{}
	for _, p := range pods {
		webNames[p.Name] = true
	}
	// busybox wget segfaults here (static glibc); nc speaks HTTP/1.0 just as
	// well, and the page is the last line of the answer.
	get := func(host, port string) string {
		return fmt.Sprintf(`$(printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 5 %s %s 2>&1 | tail -n 1)`, host, port)
	}
	var script strings.Builder
	script.WriteString("{\n")
	for _, p := range targets {
		fmt.Fprintf(&script, "echo \"pod %s %s\"\n", p.Status.PodIP, get(p.Status.PodIP, "8080"))
	}
	script.WriteString("echo \"lookup $(nslookup web.default.svc.cluster.local 2>&1 | tr '\\n' ' ')\"\n")
	fmt.Fprintf(&script, "echo \"name %s\"\n", get("web.default.svc.cluster.local", "80"))
	fmt.Fprintf(&script, "echo \"clusterip %s\"\n", get(svc.Spec.ClusterIP, "80"))
	script.WriteString("} >/dev/termination-log\n")
	check := func(out string) error {
		lines := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			k, v, _ := strings.Cut(l, " ")
			if k == "pod" {
				ip, body, _ := strings.Cut(v, " ")
				k, v = "pod "+ip, body
			}
			lines[k] = strings.TrimSpace(v)
		}
		for _, p := range targets {
			if got := lines["pod "+p.Status.PodIP]; got != p.Name {
				return fmt.Errorf("GET http://%s:8080/ (pod %s on %s) from %s = %q, want %q", p.Status.PodIP, p.Name, p.Spec.NodeName, client, got, p.Name)
			}
		}
		if !strings.Contains(lines["lookup"], svc.Spec.ClusterIP) {
			return fmt.Errorf("nslookup web.default.svc.cluster.local = %q, want the ClusterIP %s", lines["lookup"], svc.Spec.ClusterIP)
		}
		if !webNames[lines["name"]] {
			return fmt.Errorf("GET http://web.default.svc.cluster.local/ = %q, want a web pod's name", lines["name"])
		}
		if !webNames[lines["clusterip"]] {
			return fmt.Errorf("GET http://%s/ = %q, want a web pod's name", svc.Spec.ClusterIP, lines["clusterip"])
		}
		return nil
	}
	c.probe(ctx, client, script.String(), check)
	t.Logf("cross-node pod IP, Service name and ClusterIP answered after %v", time.Since(start).Round(time.Second))

	// Stop a node that runs web pods (not the first: it only hosts probes).
	victim := c.nodes[len(c.nodes)-1]
	for _, nd := range c.nodes[1:] {
		if len(onNode[nd.name]) > 0 {
			victim = nd
		}
	}
	lost := onNode[victim.name]
	victim.kubelet.stop(syscall.SIGKILL, 0)
	killed := time.Now()
	c.waitFor(victim.name+" NotReady", 2*time.Minute, func() (bool, error) {
		n, err := c.client.CoreV1().Nodes().Get(ctx, victim.name, metav1.GetOptions{})
		return err == nil && !ready(n) && hasTaint(n, "node.kubernetes.io/unreachable"), err
	})
	t.Logf("%s NotReady and tainted unreachable %v after its kubelet was killed", victim.name, time.Since(killed).Round(time.Second))
	after := c.waitWebReady(ctx, replicas, victim.name)
	for _, p := range lost {
		got, err := c.client.CoreV1().Pods(ns).Get(ctx, p.Name, metav1.GetOptions{})
		if err == nil && got.DeletionTimestamp == nil {
			t.Errorf("pod %s on the lost node %s was not evicted", p.Name, victim.name)
		} else if err != nil && !apierrors.IsNotFound(err) {
			t.Error(err)
		}
	}
	t.Logf("%d pods of %s recreated: %v, %v after the kill", len(lost), victim.name, placement(after), time.Since(killed).Round(time.Second))
	t.Logf("whole test %v", time.Since(start).Round(time.Second))
}

func (c *cluster) createWeb(ctx context.Context) {
	c.t.Helper()
	n := int32(replicas)
	grace := int64(1)
	short := int64(5)
	labels := map[string]string{"app": "web"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &n,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: v1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: v1.PodSpec{
					TerminationGracePeriodSeconds: &grace,
					Containers: []v1.Container{{
						Name: "httpd", Image: busybox, ImagePullPolicy: v1.PullNever,
						Command: []string{"sh", "-c", "mkdir -p /www && echo $(POD_NAME) >/www/index.html && exec httpd -f -p 8080 -h /www"},
						Env:     []v1.EnvVar{{Name: "POD_NAME", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.name"}}}},
						Ports:   []v1.ContainerPort{{ContainerPort: 8080}},
						ReadinessProbe: &v1.Probe{ProbeHandler: v1.ProbeHandler{TCPSocket: &v1.TCPSocketAction{Port: intstr.FromInt32(8080)}},
							PeriodSeconds: 1},
					}},
					TopologySpreadConstraints: []v1.TopologySpreadConstraint{{
						MaxSkew: 1, TopologyKey: "kubernetes.io/hostname", WhenUnsatisfiable: v1.ScheduleAnyway,
						LabelSelector: &metav1.LabelSelector{MatchLabels: labels},
					}},
					Tolerations: []v1.Toleration{
						{Key: "node.kubernetes.io/not-ready", Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute, TolerationSeconds: &short},
						{Key: "node.kubernetes.io/unreachable", Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute, TolerationSeconds: &short},
					},
				},
			},
		},
	}
	if _, err := c.client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		c.t.Fatal(err)
	}
}

// waitWebReady waits for want Running, Ready, not terminating web pods, none
// on node avoid, and returns them.
func (c *cluster) waitWebReady(ctx context.Context, want int, avoid string) []v1.Pod {
	c.t.Helper()
	var out []v1.Pod
	c.waitFor(fmt.Sprintf("%d web pods Ready", want), 3*time.Minute, func() (bool, error) {
		list, err := c.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return false, err
		}
		out = out[:0]
		for _, p := range list.Items {
			if p.DeletionTimestamp != nil || p.Status.Phase != v1.PodRunning || !podReady(&p) || p.Status.PodIP == "" {
				continue
			}
			if p.Spec.NodeName == avoid {
				continue
			}
			out = append(out, p)
		}
		return len(out) == want, fmt.Errorf("%d of %d ready: %v", len(out), want, placement(list.Items))
	})
	return out
}

// probe runs script in a busybox pod on node until check accepts what the
// script wrote to its termination log: routes and Service rules take a
// moment to reach every node.
func (c *cluster) probe(ctx context.Context, node, script string, check func(string) error) {
	c.t.Helper()
	var last error
	deadline := time.Now().Add(2 * time.Minute)
	for i := 0; time.Now().Before(deadline); i++ {
		name := fmt.Sprintf("probe-%d", i)
		pod := &v1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: v1.PodSpec{
				NodeSelector:  map[string]string{"kubernetes.io/hostname": node},
				RestartPolicy: v1.RestartPolicyNever,
				Containers: []v1.Container{{
					Name: "probe", Image: busybox, ImagePullPolicy: v1.PullNever,
					Command: []string{"sh", "-c", script},
				}},
			},
		}
		if _, err := c.client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			c.t.Fatal(err)
		}
		var msg string
		c.waitFor("probe pod "+name+" to finish", 2*time.Minute, func() (bool, error) {
			p, err := c.client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			for _, st := range p.Status.ContainerStatuses {
				if st.State.Terminated != nil {
					msg = st.State.Terminated.Message
					return true, nil
				}
			}
			return false, fmt.Errorf("phase %s", p.Status.Phase)
		})
		zero := int64(0)
		_ = c.client.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
		if last = check(msg); last == nil {
			return
		}
		c.t.Logf("probe %s: %v", name, last)
		time.Sleep(2 * time.Second)
	}
	c.t.Fatalf("probe from %s never succeeded: %v", node, last)
}

// dnsService points kube-system/kube-dns (10.96.0.10) at the navarch-dns
// process of the control-plane namespace: a Service without selector and an
// EndpointSlice of its own.
func (c *cluster) dnsService(addr string) {
	ctx := context.Background()
	if _, err := c.client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		c.t.Fatal(err)
	}
	_, err := c.client.CoreV1().Services("kube-system").Create(ctx, &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-dns", Labels: map[string]string{"k8s-app": "kube-dns"}},
		Spec: v1.ServiceSpec{ClusterIP: dnsIP, Ports: []v1.ServicePort{
			{Name: "dns", Port: 53, Protocol: v1.ProtocolUDP},
			{Name: "dns-tcp", Port: 53, Protocol: v1.ProtocolTCP},
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	ready := true
	udp, tcp, port := v1.ProtocolUDP, v1.ProtocolTCP, int32(53)
	dns, dnsTCP := "dns", "dns-tcp"
	_, err = c.client.DiscoveryV1().EndpointSlices("kube-system").Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-dns-control-plane", Labels: map[string]string{
			discoveryv1.LabelServiceName: "kube-dns", discoveryv1.LabelManagedBy: "e2e.navarch.dev"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{addr}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
		Ports:       []discoveryv1.EndpointPort{{Name: &dns, Protocol: &udp, Port: &port}, {Name: &dnsTCP, Protocol: &tcp, Port: &port}},
	}, metav1.CreateOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
}

func ready(n *v1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == v1.NodeReady {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}

func hasTaint(n *v1.Node, key string) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == key && t.Effect == v1.TaintEffectNoExecute {
			return true
		}
	}
	return false
}

func podReady(p *v1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == v1.PodReady {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}

func placement(pods []v1.Pod) []string {
	var out []string
	for _, p := range pods {
		s := p.Name + "@" + p.Spec.NodeName + "/" + string(p.Status.Phase)
		if p.DeletionTimestamp != nil {
			s += "(terminating)"
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func inCIDR(ip, cidr string) bool {
	_, n, err := net.ParseCIDR(cidr)
	return err == nil && n.Contains(net.ParseIP(ip))
}
