package manifests

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// unitFile is a parsed systemd unit: section → key → values, in order.
type unitFile map[string]map[string][]string

// get returns the values of key in section.
func (u unitFile) get(section, key string) []string { return u[section][key] }

// parseUnit reads a unit file as systemd.syntax(7) does: [Section] headers,
// Key=Value lines, # and ; comments, and a trailing backslash joining a line
// with the next (the backslash becomes a space).
func parseUnit(path string) (unitFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	u := unitFile{}
	section := ""
	var pending strings.Builder
	lineNo := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if pending.Len() == 0 && (line == "" || line[0] == '#' || line[0] == ';') {
			continue
		}
		if pending.Len() > 0 && (strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";")) {
			continue // comments inside a continued line are dropped, as systemd does
		}
		if strings.HasSuffix(line, `\`) {
			pending.WriteString(strings.TrimSuffix(line, `\`))
			pending.WriteString(" ")
			continue
		}
		pending.WriteString(line)
		line = pending.String()
		pending.Reset()
		if strings.HasPrefix(line, "[") {
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf("%s:%d: bad section header %q", path, lineNo, line)
			}
			section = line[1 : len(line)-1]
			if u[section] == nil {
				u[section] = map[string][]string{}
			}
			continue
		}
		if section == "" {
			return nil, fmt.Errorf("%s:%d: assignment outside a section", path, lineNo)
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s:%d: not Key=Value: %q", path, lineNo, line)
		}
		k = strings.TrimSpace(k)
		u[section][k] = append(u[section][k], strings.TrimSpace(v))
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if pending.Len() > 0 {
		return nil, fmt.Errorf("%s: file ends in a continued line", path)
	}
	return u, nil
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// parseEnvFile reads an EnvironmentFile= file: KEY=VALUE lines, # and ;
// comments, values optionally in single or double quotes.
func parseEnvFile(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	env := map[string]string{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || !envName.MatchString(strings.TrimSpace(k)) {
			return nil, fmt.Errorf("%s:%d: not KEY=VALUE: %q", path, i+1, line)
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') {
			if v[len(v)-1] != v[0] {
				return nil, fmt.Errorf("%s:%d: unterminated quote", path, i+1)
			}
			v = v[1 : len(v)-1]
		}
		env[strings.TrimSpace(k)] = v
	}
	return env, nil
}

var (
	bracedVar = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)
	wordVar   = regexp.MustCompile(`^\$([A-Za-z_][A-Za-z0-9_]*)$`)
)

// execArgs expands an Exec*= command line the way systemd.service(5) does:
// words split at whitespace (double or single quotes group), "${VAR}"
// replaced by the value inside its word, a word that is exactly "$VAR"
// replaced by the value split at whitespace (zero or more words). The
// command's prefix characters (-, @, :, +, !) are dropped. It also returns
// the variables the line refers to.
func execArgs(line string, env map[string]string) (argv []string, refs []string, err error) {
	words, err := splitWords(line)
	if err != nil {
		return nil, nil, err
	}
	for i, w := range words {
		if i == 0 {
			w = strings.TrimLeft(w, "-@:+!")
		}
		if m := wordVar.FindStringSubmatch(w); m != nil {
			refs = append(refs, m[1])
			argv = append(argv, strings.Fields(env[m[1]])...)
			continue
		}
		w = bracedVar.ReplaceAllStringFunc(w, func(s string) string {
			name := bracedVar.FindStringSubmatch(s)[1]
			refs = append(refs, name)
			return env[name]
		})
		argv = append(argv, strings.ReplaceAll(w, "$$", "$"))
	}
	return argv, refs, nil
}

func splitWords(line string) ([]string, error) {
	var (
		words []string
		cur   strings.Builder
		quote rune
		in    bool
	)
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote in %q", quote, line)
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}
