package server

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

const criLog = `2024-05-01T10:00:00.000000001Z stdout F first
2024-05-01T10:00:01.000000000Z stderr F an error
2024-05-01T10:00:02.000000000Z stdout P par
2024-05-01T10:00:02.500000000Z stdout F tial
2024-05-01T10:00:03.000000000Z stdout F last
`

func TestCopyLogs(t *testing.T) {
	tests := []struct {
		name string
		opts logOptions
		want string
	}{
		{name: "all", opts: logOptions{tail: -1}, want: "first\nan error\npartial\nlast\n"},
		{name: "tail 2 keeps a joined partial line whole", opts: logOptions{tail: 2}, want: "partial\nlast\n"},
		{name: "tail 0", opts: logOptions{tail: 0}, want: ""},
		{name: "tail beyond the file", opts: logOptions{tail: 10}, want: "first\nan error\npartial\nlast\n"},
		{name: "timestamps", opts: logOptions{tail: 2, timestamps: true},
			want: "2024-05-01T10:00:02Z partial\n2024-05-01T10:00:03Z last\n"},
		{name: "since", opts: logOptions{tail: -1, since: time.Date(2024, 5, 1, 10, 0, 1, 0, time.UTC)}, want: "an error\npartial\nlast\n"},
		{name: "limitBytes", opts: logOptions{tail: -1, limitBytes: 8}, want: "first\nan"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := copyLogs(context.Background(), &out, strings.NewReader(criLog), tt.opts, nil); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want {
				t.Errorf("got %q, want %q", out.String(), tt.want)
			}
		})
	}
}

func TestCopyLogsFollowsUntilExit(t *testing.T) {
	calls := 0
	running := func() bool { calls++; return calls < 3 }
	var out bytes.Buffer
	if err := copyLogs(context.Background(), &out, strings.NewReader(criLog), logOptions{tail: 1}, running); err != nil {
		t.Fatal(err)
	}
	if out.String() != "last\n" || calls != 3 {
		t.Errorf("got %q after %d checks, want the last line and 3 checks", out.String(), calls)
	}
}

func TestParseCRILine(t *testing.T) {
	for _, tt := range []struct {
		name, line  string
		ok, partial bool
		content     string
	}{
		{name: "full", line: "2024-05-01T10:00:00Z stdout F hello world\n", ok: true, content: "hello world"},
		{name: "partial", line: "2024-05-01T10:00:00Z stderr P hel\n", ok: true, partial: true, content: "hel"},
		{name: "empty content", line: "2024-05-01T10:00:00Z stdout F\n", ok: true, content: ""},
		{name: "tag with fields", line: "2024-05-01T10:00:00Z stdout F:x y\n", ok: true, content: "y"},
		{name: "bad time", line: "yesterday stdout F x\n"},
		{name: "no stream", line: "2024-05-01T10:00:00Z\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, ok := parseCRILine([]byte(tt.line))
			if ok != tt.ok || (ok && (m.partial != tt.partial || string(m.content) != tt.content)) {
				t.Errorf("parse %q = %+v, %v", tt.line, m, ok)
			}
		})
	}
}
