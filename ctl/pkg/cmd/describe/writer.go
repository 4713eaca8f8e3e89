package describe

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// writer writes a description: lines indented two spaces per level, with
// tab-separated cells that a tab writer aligns (padding 2), as kubectl's
// describe output is aligned. A line without a tab ends the alignment block
// above it.
type writer struct {
	tw *tabwriter.Writer
}

func newWriter(out io.Writer) *writer {
	return &writer{tw: tabwriter.NewWriter(out, 0, 8, 2, ' ', 0)}
}

// write prints format at an indentation level.
func (w *writer) write(level int, format string, args ...any) {
	fmt.Fprint(w.tw, strings.Repeat("  ", level))
	fmt.Fprintf(w.tw, format, args...)
}

func (w *writer) flush() error { return w.tw.Flush() }
