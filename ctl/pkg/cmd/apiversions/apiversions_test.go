package apiversions_test

import (
	"sort"
	"strings"
	"testing"

	"navarch.dev/e2e/clitest"
)

func TestAPIVersions(t *testing.T) {
	env := clitest.Start(t)
	out := env.OK(t, "", "api-versions")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if !sort.StringsAreSorted(lines) {
		t.Errorf("not sorted:\n%s", out)
	}
	for _, want := range []string{"apps/v1", "batch/v1", "rbac.authorization.k8s.io/v1", "v1"} {
		found := false
		for _, l := range lines {
			found = found || l == want
		}
		if !found {
			t.Errorf("%q missing from:\n%s", want, out)
		}
	}
	if lines[len(lines)-1] != "v1" {
		t.Errorf("the core group sorts last, got %q", lines[len(lines)-1])
	}
	if stderr := env.Fail(t, "", "api-versions", "extra"); !strings.Contains(stderr, `unknown command "extra" for "navctl api-versions"`) {
		t.Errorf("stderr = %q", stderr)
	}
}
