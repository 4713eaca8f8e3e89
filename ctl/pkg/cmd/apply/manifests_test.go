package apply_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"

	"navarch.dev/ctl/pkg/resource"
	"navarch.dev/e2e/clitest"
)

// manifestsDir is the repository's manifests/ folder.
const manifestsDir = "../../../../manifests"

// TestManifestsApplyWithServerDryRun applies every manifest under
// manifests/ (the whole tree, so manifests added later are covered) with
// --dry-run=server: each must apply cleanly and nothing may be stored.
func TestManifestsApplyWithServerDryRun(t *testing.T) {
	var files []string
	err := filepath.WalkDir(manifestsDir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".yaml", ".yml":
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no manifests under %s", manifestsDir)
	}
	env := clitest.Start(t)
	ctx := context.Background()
	client := env.Server.Client

	// Namespaces the manifests put objects in must exist for a dry run to
	// pass; make them (they are the test's, not the manifests').
	var infos []*resource.Manifest
	for _, file := range files {
		ms, err := resource.ReadManifests([]string{file}, false, nil)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for i := range ms {
			infos = append(infos, &ms[i])
		}
	}
	for _, m := range infos {
		ns := m.Object.GetNamespace()
		if ns == "" {
			continue
		}
		_, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}

	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			r := env.Run(t, "", "apply", "--dry-run=server", "-f", file)
			if r.Code != 0 {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
			}
			for _, line := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
				if !strings.HasSuffix(line, " (server dry run)") {
					t.Errorf("line %q is not a server dry run", line)
				}
			}
		})
	}

	// Nothing was stored: every object is still absent.
	dyn, err := dynamic.NewForConfig(env.Server.Config)
	if err != nil {
		t.Fatal(err)
	}
	groups, err := restmapper.GetAPIGroupResources(client.Discovery())
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDiscoveryRESTMapper(groups)
	for _, m := range infos {
		gvk := m.Object.GroupVersionKind()
		if gvk.Kind == "Namespace" {
			continue
		}
		mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("%s: %v", m.Source, err)
		}
		ns := m.Object.GetNamespace()
		if ns == "" {
			ns = "default"
		}
		_, err = resource.Client(dyn, mapping, ns).Get(ctx, m.Object.GetName(), metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			t.Errorf("%s %s from %s was stored by a dry run (%v)", gvk.Kind, m.Object.GetName(), m.Source, err)
		}
	}
}
