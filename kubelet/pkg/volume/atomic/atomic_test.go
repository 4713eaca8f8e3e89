package atomic

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteSwapsAtomically(t *testing.T) {
	dir := t.TempDir()
	changed, err := Write(dir, map[string]File{"a": {Data: []byte("1"), Mode: 0o644}, "sub/b": {Data: []byte("2"), Mode: 0o600}})
	if err != nil || !changed {
		t.Fatalf("first write: changed=%v err=%v", changed, err)
	}
	first, _ := os.Readlink(filepath.Join(dir, "..data"))
	if got := read(t, dir, "a"); got != "1" {
		t.Errorf("a = %q", got)
	}
	if got := read(t, dir, "sub/b"); got != "2" {
		t.Errorf("sub/b = %q", got)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "sub/b")); fi.Mode().Perm() != 0o600 {
		t.Errorf("sub/b mode = %v, want 0600", fi.Mode().Perm())
	}
	if target, _ := os.Readlink(filepath.Join(dir, "a")); target != "..data/a" {
		t.Errorf("a links to %q, want ..data/a", target)
	}

	changed, err = Write(dir, map[string]File{"a": {Data: []byte("1"), Mode: 0o644}, "sub/b": {Data: []byte("2"), Mode: 0o600}})
	if err != nil || changed {
		t.Fatalf("same payload: changed=%v err=%v, want no change", changed, err)
	}

	if _, err := Write(dir, map[string]File{"a": {Data: []byte("new"), Mode: 0o644}}); err != nil {
		t.Fatal(err)
	}
	second, _ := os.Readlink(filepath.Join(dir, "..data"))
	if second == first {
		t.Errorf("..data still points at %s", first)
	}
	if got := read(t, dir, "a"); got != "new" {
		t.Errorf("a after update = %q", got)
	}
	if _, err := os.Lstat(filepath.Join(dir, "sub")); !os.IsNotExist(err) {
		t.Errorf("removed key sub still present (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(dir, first)); !os.IsNotExist(err) {
		t.Errorf("old data dir %s still present", first)
	}
}

func TestWriteRejectsEscapingPaths(t *testing.T) {
	for _, p := range []string{"../x", "/abs", "a/../../x", "..data"} {
		if _, err := Write(t.TempDir(), map[string]File{p: {Mode: 0o644}}); err == nil {
			t.Errorf("path %q accepted", p)
		}
	}
}

func read(t *testing.T, dir, p string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, p))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
