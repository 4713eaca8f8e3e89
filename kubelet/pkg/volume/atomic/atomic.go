// Package atomic writes a set of files into a volume directory so that a
// reader inside a container sees either the old set or the new one, never a
// mix: the files live in a timestamped directory, "..data" is a symlink to
// it, and every top-level name is a symlink through "..data". An update
// writes a new timestamped directory and renames a new "..data" symlink over
// the old one — the layout configMap, secret, downwardAPI and projected
// volumes have upstream, which tools such as config reloaders rely on.
package atomic

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const dataLink = "..data"

// File is one file of the payload.
type File struct {
	Data []byte
	Mode os.FileMode
}

// Write makes dir hold exactly payload (relative paths → files). It reports
// whether anything changed; an unchanged payload leaves dir alone.
func Write(dir string, payload map[string]File) (bool, error) {
	for p := range payload {
		if err := validPath(p); err != nil {
			return false, err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	old, _ := os.Readlink(filepath.Join(dir, dataLink))
	if old != "" && same(filepath.Join(dir, old), payload) {
		return false, nil
	}
	ts, err := os.MkdirTemp(dir, ".."+time.Now().UTC().Format("2006_01_02_15_04_05.")) // unique per write
	if err != nil {
		return false, err
	}
	if err := os.Chmod(ts, 0o755); err != nil {
		return false, err
	}
	for p, f := range payload {
		full := filepath.Join(ts, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return false, err
		}
		if err := os.WriteFile(full, f.Data, f.Mode); err != nil {
			return false, err
		}
		// WriteFile's mode is subject to the umask.
		if err := os.Chmod(full, f.Mode); err != nil {
			return false, err
		}
	}
	tmpLink := filepath.Join(dir, "..data_tmp")
	os.Remove(tmpLink)
	if err := os.Symlink(filepath.Base(ts), tmpLink); err != nil {
		return false, err
	}
	if err := os.Rename(tmpLink, filepath.Join(dir, dataLink)); err != nil {
		return false, err
	}
	// User-visible names: one symlink per top-level entry, through ..data.
	want := map[string]bool{}
	for p := range payload {
		top := strings.SplitN(p, "/", 2)[0]
		want[top] = true
	}
	for top := range want {
		link := filepath.Join(dir, top)
		target := filepath.Join(dataLink, top)
		if cur, err := os.Readlink(link); err == nil && cur == target {
			continue
		}
		os.Remove(link)
		if err := os.Symlink(target, link); err != nil {
			return false, err
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		n := e.Name()
		switch {
		case n == dataLink || n == filepath.Base(ts):
		case strings.HasPrefix(n, ".."):
			os.RemoveAll(filepath.Join(dir, n)) // an older timestamped directory
		case !want[n]:
			os.Remove(filepath.Join(dir, n)) // a key that went away
		}
	}
	return true, nil
}

// same reports whether dir holds exactly payload.
func same(dir string, payload map[string]File) bool {
	n := 0
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		f, ok := payload[rel]
		if !ok {
			return fmt.Errorf("extra %s", rel)
		}
		info, err := d.Info()
		if err != nil || info.Mode().Perm() != f.Mode.Perm() {
			return fmt.Errorf("mode of %s", rel)
		}
		data, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(data, f.Data) {
			return fmt.Errorf("content of %s", rel)
		}
		n++
		return nil
	})
	return err == nil && n == len(payload)
}

func validPath(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("empty path")
	case filepath.IsAbs(p):
		return fmt.Errorf("path %q is absolute", p)
	case strings.HasPrefix(p, ".."):
		return fmt.Errorf("path %q starts with '..'", p)
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return fmt.Errorf("path %q contains '..'", p)
		}
	}
	return nil
}
