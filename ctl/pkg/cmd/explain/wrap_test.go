package explain

import "testing"

func TestWrap(t *testing.T) {
	tests := []struct {
		name, in, want string
		limit          int
	}{
		{name: "fits", in: "a b c", limit: 10, want: "a b c"},
		{name: "breaks at the last space that fits", in: "aaa bbb ccc ddd", limit: 7, want: "aaa bbb\nccc ddd"},
		{name: "a line may be exactly the limit", in: "aaaa bbbb", limit: 9, want: "aaaa bbbb"},
		{name: "long words stay whole on their own line", in: "see https://example.com/a/very/long/path now", limit: 10, want: "see\nhttps://example.com/a/very/long/path\nnow"},
		{name: "own line breaks and blank lines are kept", in: "one\n\ntwo three", limit: 5, want: "one\n\ntwo\nthree"},
		{name: "runs of spaces are kept", in: "map of  a list", limit: 20, want: "map of  a list"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := wrap(tc.in, tc.limit); got != tc.want {
				t.Errorf("wrap(%q, %d) = %q, want %q", tc.in, tc.limit, got, tc.want)
			}
		})
	}
}
