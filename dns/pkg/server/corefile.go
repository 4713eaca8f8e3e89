package server

import (
	"fmt"
	"net"
	"os"
	"strings"
	"unicode"

	"navarch.dev/dns/pkg/plugin"
)

// ServerBlock is one "keys { directives }" block of a Corefile.
type ServerBlock struct {
	Keys       []string
	Directives []plugin.Directive
	Line       int
}

type token struct {
	text   string
	line   int
	quoted bool
}

// tokenize splits a Corefile into tokens, one slice per logical line; "{"
// and "}" are tokens of their own. "#" starts a comment, double quotes
// group words, a backslash escapes the next character and {$VAR} expands
// an environment variable.
func tokenize(src string) ([][]token, error) {
	var (
		lines [][]token
		cur   []token
		line  = 1
		sb    strings.Builder
		inTok bool
		quote bool
		start int
	)
	flush := func() {
		if inTok {
			cur = append(cur, token{text: os.Expand(sb.String(), expandEnv), line: start, quoted: quote})
			sb.Reset()
			inTok = false
		}
	}
	endLine := func() {
		if len(cur) > 0 {
			lines = append(lines, cur)
			cur = nil
		}
	}
	rs := []rune(src)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		if quote {
			switch c {
			case '\\':
				if i+1 < len(rs) {
					i++
					sb.WriteRune(rs[i])
				}
			case '"':
				quote = false
				cur = append(cur, token{text: sb.String(), line: start, quoted: true})
				sb.Reset()
				inTok = false
			case '\n':
				line++
				sb.WriteRune(c)
			default:
				sb.WriteRune(c)
			}
			continue
		}
		switch {
		case c == '\n':
			flush()
			endLine()
			line++
		case unicode.IsSpace(c):
			flush()
		case c == '#' && !inTok:
			for i < len(rs) && rs[i] != '\n' {
				i++
			}
			i--
		case c == '"' && !inTok:
			quote, inTok, start = true, true, line
		case c == '\\' && i+1 < len(rs):
			if !inTok {
				inTok, start = true, line
			}
			i++
			if rs[i] == '\n' { // line continuation
				line++
				continue
			}
			sb.WriteRune(rs[i])
		case (c == '{' || c == '}') && !inTok && !(c == '{' && i+1 < len(rs) && rs[i+1] == '$'):
			cur = append(cur, token{text: string(c), line: line})
		default:
			if !inTok {
				inTok, start = true, line
			}
			sb.WriteRune(c)
		}
	}
	if quote {
		return nil, fmt.Errorf("line %d: unterminated quote", start)
	}
	flush()
	endLine()
	return lines, nil
}

// expandEnv maps "{VAR}" (from "{$VAR}") and "VAR" to the environment.
func expandEnv(s string) string {
	return os.Getenv(strings.Trim(s, "{}"))
}

// ParseCorefile parses src (named file in errors) into server blocks.
func ParseCorefile(file string, src []byte) ([]ServerBlock, error) {
	lines, err := tokenize(strings.ReplaceAll(string(src), "{$", "${"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	// Flatten lines back into a stream with explicit line ends, which is
	// simpler to parse recursively.
	type item struct {
		tok token
		eol bool
	}
	var stream []item
	for _, l := range lines {
		for _, t := range l {
			stream = append(stream, item{tok: t})
		}
		stream = append(stream, item{eol: true})
	}
	pos := 0
	errorf := func(line int, format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", file, line, fmt.Sprintf(format, args...))
	}
	isOpen := func(it item) bool { return !it.eol && !it.tok.quoted && it.tok.text == "{" }
	isClose := func(it item) bool { return !it.eol && !it.tok.quoted && it.tok.text == "}" }

	var parseDirectives func(depth int) ([]plugin.Directive, error)
	parseDirectives = func(depth int) ([]plugin.Directive, error) {
		var out []plugin.Directive
		for pos < len(stream) {
			it := stream[pos]
			switch {
			case it.eol:
				pos++
				continue
			case isClose(it):
				pos++
				return out, nil
			case isOpen(it):
				return nil, errorf(it.tok.line, "unexpected '{'")
			}
			d := plugin.Directive{Name: strings.ToLower(it.tok.text), File: file, Line: it.tok.line}
			pos++
			for pos < len(stream) && !stream[pos].eol {
				t := stream[pos]
				if isClose(t) {
					break
				}
				if isOpen(t) {
					pos++
					block, err := parseDirectives(depth + 1)
					if err != nil {
						return nil, err
					}
					d.Block = block
					break
				}
				d.Args = append(d.Args, t.tok.text)
				pos++
			}
			out = append(out, d)
		}
		return nil, errorf(lineOf(lines), "missing '}'")
	}

	var blocks []ServerBlock
	for pos < len(stream) {
		if stream[pos].eol {
			pos++
			continue
		}
		sb := ServerBlock{Line: stream[pos].tok.line}
		for pos < len(stream) && !stream[pos].eol && !isOpen(stream[pos]) {
			for _, k := range strings.Split(stream[pos].tok.text, ",") {
				if k != "" {
					sb.Keys = append(sb.Keys, k)
				}
			}
			pos++
		}
		if len(sb.Keys) == 0 {
			return nil, errorf(sb.Line, "server block without keys")
		}
		// The "{" may be on the next line.
		for pos < len(stream) && stream[pos].eol {
			pos++
		}
		if pos >= len(stream) || !isOpen(stream[pos]) {
			return nil, errorf(sb.Line, "expected '{' after server block keys %v", sb.Keys)
		}
		pos++
		ds, err := parseDirectives(1)
		if err != nil {
			return nil, err
		}
		sb.Directives = ds
		blocks = append(blocks, sb)
	}
	if len(blocks) == 0 {
		return nil, fmt.Errorf("%s: no server blocks", file)
	}
	return blocks, nil
}

func lineOf(lines [][]token) int {
	if len(lines) == 0 {
		return 1
	}
	l := lines[len(lines)-1]
	return l[len(l)-1].line
}

// splitKey parses a server block key "[dns://]zone[:port]" into its zone
// and port ("" when absent).
func splitKey(key string) (zone, port string, err error) {
	k := strings.TrimPrefix(strings.ToLower(key), "dns://")
	if strings.Contains(k, "://") {
		return "", "", fmt.Errorf("unsupported transport in %q", key)
	}
	if h, p, err := net.SplitHostPort(k); err == nil {
		zone, port = h, p
	} else {
		zone = k
	}
	if zone == "" {
		zone = "."
	}
	return zone, port, nil
}
