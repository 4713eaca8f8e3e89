package podworker

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
)

func TestHostsFileAndTerminationMessage(t *testing.T) {
	e := newEnv(t, makePod("web", restart(v1.RestartPolicyNever), func(p *v1.Pod) {
		p.Spec.Hostname, p.Spec.Subdomain = "db-0", "db"
		p.Spec.HostAliases = []v1.HostAlias{{IP: "192.0.2.1", Hostnames: []string{"foo", "bar"}}}
	}))
	e.w.cfg.PodsDir = t.TempDir()
	e.w.cfg.ClusterDomain = "cluster.local"
	st := e.sync("default/web")

	hosts, err := os.ReadFile(filepath.Join(e.w.cfg.PodsDir, "uid-web", "etc-hosts"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"127.0.0.1\tlocalhost\n", st.PodIP + "\tdb-0.db.default.svc.cluster.local\tdb-0\n", "192.0.2.1\tfoo\tbar\n"} {
		if !strings.Contains(string(hosts), want) {
			t.Errorf("/etc/hosts lacks %q:\n%s", want, hosts)
		}
	}

	id := e.running("main")
	var termFile string
	for _, c := range e.cri.Containers() {
		if c.Id == id {
			termFile = c.Annotations[annotationTermination]
		}
	}
	if termFile == "" {
		t.Fatal("container has no termination message file")
	}
	if err := os.WriteFile(termFile, []byte("bye"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.cri.Exit(id, 2, "")
	st = e.sync("default/web")
	term := st.ContainerStatuses[0].State.Terminated
	if term == nil || term.Message != "bye" || term.ExitCode != 2 {
		t.Fatalf("terminated = %+v, want exit 2 with message bye", term)
	}
}
