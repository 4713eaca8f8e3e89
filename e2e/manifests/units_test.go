package manifests

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// unitSpec is what an operator expects of each component's unit.
type unitSpec struct {
	name   string // component, as in navarch-<name>.service and <name>.env
	after  []string
	wants  []string
	needs  []string // Requires=
	binary string
}

var unitSpecs = []unitSpec{
	{name: "apiserver", after: []string{"network-online.target"}, wants: []string{"network-online.target"}},
	{name: "scheduler", after: []string{"network-online.target", "navarch-apiserver.service"}, wants: []string{"network-online.target"}},
	{name: "controller-manager", after: []string{"network-online.target", "navarch-apiserver.service"}, wants: []string{"network-online.target"}},
	{name: "kubelet", after: []string{"network-online.target", "containerd.service"}, wants: []string{"network-online.target"}, needs: []string{"containerd.service"}},
	{name: "proxy", after: []string{"network-online.target", "navarch-apiserver.service"}, wants: []string{"network-online.target"}},
	{name: "dns", after: []string{"network-online.target", "navarch-apiserver.service"}, wants: []string{"network-online.target"}},
}

func words(values []string) []string {
	var out []string
	for _, v := range values {
		out = append(out, strings.Fields(v)...)
	}
	return out
}

// TestSystemdUnits reads every unit and its shipped environment file as
// systemd would and runs the resulting command line through the binary's
// flag parser.
func TestSystemdUnits(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "manifests", "systemd")
	files, err := filepath.Glob(filepath.Join(dir, "*.service"))
	if err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, f := range files {
		got = append(got, filepath.Base(f))
	}
	for _, s := range unitSpecs {
		want = append(want, "navarch-"+s.name+".service")
	}
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Fatalf("units in manifests/systemd: %v, want %v", got, want)
	}
	for _, s := range unitSpecs {
		t.Run(s.name, func(t *testing.T) {
			unit, err := parseUnit(filepath.Join(dir, "navarch-"+s.name+".service"))
			if err != nil {
				t.Fatal(err)
			}
			for _, sec := range []string{"Unit", "Service", "Install"} {
				if unit[sec] == nil {
					t.Errorf("no [%s] section", sec)
				}
			}
			for _, dep := range []struct {
				key  string
				want []string
			}{{"After", s.after}, {"Wants", s.wants}, {"Requires", s.needs}} {
				have := words(unit.get("Unit", dep.key))
				for _, w := range dep.want {
					if !slices.Contains(have, w) {
						t.Errorf("%s=%v lacks %s", dep.key, have, w)
					}
				}
			}
			if r := unit.get("Service", "Restart"); !slices.Equal(r, []string{"always"}) {
				t.Errorf("Restart=%v, want always", r)
			}
			if w := words(unit.get("Install", "WantedBy")); !slices.Contains(w, "multi-user.target") {
				t.Errorf("WantedBy=%v, want multi-user.target", w)
			}
			envPath := "/etc/navarch/" + s.name + ".env"
			if ef := unit.get("Service", "EnvironmentFile"); !slices.Equal(ef, []string{"-" + envPath}) && !slices.Equal(ef, []string{envPath}) {
				t.Errorf("EnvironmentFile=%v, want %s", ef, envPath)
			}
			env, err := parseEnvFile(filepath.Join(dir, "env", s.name+".env"))
			if err != nil {
				t.Fatal(err)
			}
			exec := unit.get("Service", "ExecStart")
			if len(exec) != 1 {
				t.Fatalf("%d ExecStart= lines, want 1", len(exec))
			}
			argv, refs, err := execArgs(exec[0], env)
			if err != nil {
				t.Fatal(err)
			}
			bin := "/usr/local/bin/navarch-" + s.name
			if len(argv) == 0 || argv[0] != bin {
				t.Fatalf("ExecStart runs %v, want %s", argv, bin)
			}
			// A setting the unit names but the file lacks would reach the
			// daemon as an empty value; one the file has but the unit does
			// not use would mislead whoever edits it.
			for _, r := range refs {
				if _, ok := env[r]; !ok {
					t.Errorf("ExecStart uses $%s, which %s.env does not set", r, s.name)
				}
			}
			for k, v := range env {
				if !slices.Contains(refs, k) {
					t.Errorf("%s.env sets %s, which ExecStart does not use", s.name, k)
				}
				if v == "" && strings.Contains(exec[0], "${"+k+"}") {
					t.Errorf("%s.env leaves %s empty, but ExecStart passes it as a value", s.name, k)
				}
			}
			if err := flagsAccepted(filepath.Base(bin), argv[1:]); err != nil {
				t.Errorf("ExecStart with the shipped %s.env: %v", s.name, err)
			}
			// Operators fill the *_ARGS settings the way the comments show:
			// each commented example must be accepted too.
			for _, example := range commentedExamples(t, filepath.Join(dir, "env", s.name+".env")) {
				withExample := map[string]string{}
				for k, v := range env {
					withExample[k] = v
				}
				withExample[example.key] = example.value
				argv, _, err := execArgs(exec[0], withExample)
				if err != nil {
					t.Fatal(err)
				}
				if err := flagsAccepted(filepath.Base(bin), argv[1:]); err != nil {
					t.Errorf("ExecStart with the commented example %s=%q: %v", example.key, example.value, err)
				}
			}
		})
	}
}

type setting struct{ key, value string }

// commentedExamples returns the "# KEY=VALUE" examples of an env file for
// settings it also sets for real.
func commentedExamples(t *testing.T, path string) []setting {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env, err := parseEnvFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []setting
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimSpace(line[1:]), "=")
		if !ok || !envName.MatchString(k) {
			continue
		}
		if _, real := env[k]; !real {
			continue
		}
		v = strings.Trim(v, `"'`)
		out = append(out, setting{k, v})
	}
	return out
}
