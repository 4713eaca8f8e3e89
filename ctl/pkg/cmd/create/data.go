package create

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/validation"
)

// dataSources are the --from-* flags of create configmap and create secret.
type dataSources struct {
	literals []string
	files    []string
	envFiles []string
}

// entry is one key of the data and its value.
type entry struct {
	key   string
	value []byte
}

// read returns the entries the flags name, in kubectl's order: files, then
// literals (or the env files alone).
func (d *dataSources) read() ([]entry, error) {
	if len(d.envFiles) > 0 && (len(d.files) > 0 || len(d.literals) > 0) {
		return nil, errors.New("from-env-file cannot be combined with from-file or from-literal")
	}
	var out []entry
	for _, src := range d.files {
		es, err := fileEntries(src)
		if err != nil {
			return nil, err
		}
		out = append(out, es...)
	}
	for _, lit := range d.literals {
		k, v, ok := strings.Cut(lit, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("invalid literal source %v, expected key=value", lit)
		}
		out = append(out, entry{key: k, value: []byte(v)})
	}
	for _, path := range d.envFiles {
		es, err := envEntries(path)
		if err != nil {
			return nil, err
		}
		out = append(out, es...)
	}
	return out, nil
}

// fileEntries reads "[key=]path": a file under its basename (or the key), or
// every regular file of a directory under its basename.
func fileEntries(src string) ([]entry, error) {
	key, path, explicit := strings.Cut(src, "=")
	if !explicit {
		key, path = "", src
	} else {
		if key == "" {
			return nil, fmt.Errorf("key name for file path %v missing", path)
		}
		if strings.Contains(path, "=") {
			return nil, errors.New("key names or file paths cannot contain '='")
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, readError(path, err)
	}
	if !st.IsDir() {
		if key == "" {
			key = filepath.Base(path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, readError(path, err)
		}
		return []entry{{key: key, value: b}}, nil
	}
	if explicit {
		return nil, errors.New("cannot give a key name for a directory path")
	}
	dirents, err := os.ReadDir(path)
	if err != nil {
		return nil, readError(path, err)
	}
	var out []entry
	for _, de := range dirents {
		if !de.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(path, de.Name()))
		if err != nil {
			return nil, readError(path, err)
		}
		out = append(out, entry{key: de.Name(), value: b})
	}
	return out, nil
}

func readError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("error reading %s: %v", path, err)
}

// envEntries reads KEY=VALUE lines; "#" comments and blank lines are
// skipped, and a bare KEY takes its value from the environment.
func envEntries(path string) ([]entry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, readError(path, err)
	}
	var out []entry
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimLeft(sc.Text(), " \t")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if errs := validation.IsEnvVarName(k); len(errs) > 0 {
			return nil, fmt.Errorf("%q is not a valid key name: %s", k, strings.Join(errs, ";"))
		}
		if !ok {
			env, found := os.LookupEnv(k)
			if !found {
				continue
			}
			v = env
		}
		out = append(out, entry{key: k, value: []byte(v)})
	}
	return out, sc.Err()
}

// configMapData sorts entries into a config map's data (UTF-8 text) and
// binaryData, with kubectl's errors for bad and repeated keys.
func configMapData(name string, entries []entry) (map[string]string, map[string][]byte, error) {
	data, binary := map[string]string{}, map[string][]byte{}
	for _, e := range entries {
		if errs := validation.IsConfigMapKey(e.key); len(errs) > 0 {
			return nil, nil, fmt.Errorf("%q is not a valid key name for a ConfigMap: %s", e.key, strings.Join(errs, ","))
		}
		if _, ok := data[e.key]; ok {
			return nil, nil, fmt.Errorf("cannot add key %q, another key by that name already exists in Data for ConfigMap %q", e.key, name)
		}
		if _, ok := binary[e.key]; ok {
			return nil, nil, fmt.Errorf("cannot add key %q, another key by that name already exists in BinaryData for ConfigMap %q", e.key, name)
		}
		if utf8.Valid(e.value) {
			data[e.key] = string(e.value)
		} else {
			binary[e.key] = e.value
		}
	}
	if len(data) == 0 {
		data = nil
	}
	if len(binary) == 0 {
		binary = nil
	}
	return data, binary, nil
}

// secretData is a secret's data, with kubectl's errors.
func secretData(entries []entry) (map[string][]byte, error) {
	data := map[string][]byte{}
	for _, e := range entries {
		if errs := validation.IsConfigMapKey(e.key); len(errs) > 0 {
			return nil, fmt.Errorf("%q is not valid key name for a Secret %s", e.key, strings.Join(errs, ";"))
		}
		if _, ok := data[e.key]; ok {
			return nil, fmt.Errorf("cannot add key %s, another key by that name already exists", e.key)
		}
		data[e.key] = e.value
	}
	if len(data) == 0 {
		return nil, nil
	}
	return data, nil
}
