package explain_test

import (
	"strings"
	"testing"

	"navarch.dev/e2e/clitest"
)

func TestExplain(t *testing.T) {
	env := clitest.Start(t)
	tests := []struct {
		name   string
		args   []string
		stdout string
		stderr string
		code   int
	}{
		{
			name: "field with fields",
			args: []string{"explain", "pods.spec.containers.ports"},
			stdout: "KIND:       Pod\nVERSION:    v1\n\nFIELD: ports <[]ContainerPort>\n\n\nDESCRIPTION:\n" +
				"    List of ports to expose from the container. Not specifying a port here DOES\n" +
				"    NOT prevent that port from being exposed. Any port which is listening on the\n" +
				"    default \"0.0.0.0\" address inside a container will be accessible from the\n" +
				"    network. Modifying this array with strategic merge patch may corrupt the\n" +
				"    data. For more information See\n" +
				"    https://github.com/kubernetes/kubernetes/issues/108255. Cannot be updated.\n" +
				"    ContainerPort represents a network port in a single container.\n" +
				"    \n" +
				"FIELDS:\n" +
				"  containerPort\t<integer> -required-\n" +
				"    Number of port to expose on the pod's IP address. This must be a valid port\n" +
				"    number, 0 < x < 65536.\n\n" +
				"  hostIP\t<string>\n" +
				"    What host IP to bind the external port to.\n\n" +
				"  hostPort\t<integer>\n" +
				"    Number of port to expose on the host. If specified, this must be a valid\n" +
				"    port number, 0 < x < 65536. If HostNetwork is specified, this must match\n" +
				"    ContainerPort. Most containers do not need this.\n\n" +
				"  name\t<string>\n" +
				"    If specified, this must be an IANA_SVC_NAME and unique within the pod. Each\n" +
				"    named port in a pod must have a unique name. Name for the port that can be\n" +
				"    referred to by services.\n\n" +
				"  protocol\t<string>\n" +
				"    Protocol for port. Must be UDP, TCP, or SCTP. Defaults to \"TCP\".\n\n\n",
		},
		{
			name: "recursive, with a group",
			args: []string{"explain", "deployments.apps.spec.strategy", "--recursive"},
			stdout: "GROUP:      apps\nKIND:       Deployment\nVERSION:    v1\n\nFIELD: strategy <DeploymentStrategy>\n\n\nDESCRIPTION:\n" +
				"    The deployment strategy to use to replace existing pods with new ones.\n" +
				"    DeploymentStrategy describes how to replace existing pods with new ones.\n" +
				"    \n" +
				"FIELDS:\n" +
				"  rollingUpdate\t<RollingUpdateDeployment>\n" +
				"    maxSurge\t<IntOrString>\n" +
				"    maxUnavailable\t<IntOrString>\n" +
				"  type\t<string>\n\n",
		},
		{
			name: "primitive reference and map types",
			args: []string{"explain", "pods.metadata.creationTimestamp"},
			stdout: "KIND:       Pod\nVERSION:    v1\n\nFIELD: creationTimestamp <string>\n\n\nDESCRIPTION:\n" +
				"    CreationTimestamp is a timestamp representing the server time when this\n" +
				"    object was created. It is not guaranteed to be set in happens-before order\n" +
				"    across separate operations. Clients may not set this value. It is\n" +
				"    represented in RFC3339 form and is in UTC.\n" +
				"    \n" +
				"    Populated by the system. Read-only. Null for lists. More info:\n" +
				"    https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata\n" +
				"    Time is a wrapper around time.Time which supports correct marshaling to YAML\n" +
				"    and JSON. It is serialized as an RFC 3339 date-time string.\n" +
				"    \n\n",
		},
		{
			name:   "unknown field prints the kind, then fails",
			args:   []string{"explain", "pods.spec.nope"},
			stdout: "KIND:       Pod\nVERSION:    v1\n\n",
			stderr: "error: field \"nope\" does not exist\n",
			code:   1,
		},
		{name: "unknown type", args: []string{"explain", "nope"}, stderr: "the server doesn't have a resource type \"nope\"\n", code: 1},
		{name: "unknown version", args: []string{"explain", "hpa", "--api-version=autoscaling/v9"}, stderr: "error: couldn't find resource for \"autoscaling/v9, Resource=horizontalpodautoscalers\"\n", code: 1},
		{
			name: "no type", args: []string{"explain"}, code: 1,
			stderr: "error: You must specify the type of resource to explain. Use \"navctl api-resources\" for a complete list of supported resources.\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := env.Run(t, "", tc.args...)
			if r.Code != tc.code || r.Stdout != tc.stdout || r.Stderr != tc.stderr {
				t.Errorf("navctl %s: exit %d, want %d\nstdout:\n%q\nwant:\n%q\nstderr: %q, want %q", strings.Join(tc.args, " "), r.Code, tc.code, r.Stdout, tc.stdout, r.Stderr, tc.stderr)
			}
		})
	}

	t.Run("api version", func(t *testing.T) {
		out := env.OK(t, "", "explain", "hpa", "--api-version=autoscaling/v1")
		if !strings.HasPrefix(out, "GROUP:      autoscaling\nKIND:       HorizontalPodAutoscaler\nVERSION:    v1\n\nDESCRIPTION:\n") {
			t.Errorf("got:\n%s", out)
		}
	})
	t.Run("top level fields", func(t *testing.T) {
		out := env.OK(t, "", "explain", "pods")
		for _, want := range []string{"KIND:       Pod\nVERSION:    v1\n\nDESCRIPTION:\n    Pod is a collection of containers", "FIELDS:\n  apiVersion\t<string>\n", "\n  metadata\t<ObjectMeta>\n", "\n  spec\t<PodSpec>\n"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})
}
