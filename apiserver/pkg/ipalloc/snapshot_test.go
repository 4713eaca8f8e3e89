package ipalloc

import (
	"errors"
	"slices"
	"testing"
)

func TestSnapshotRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		size    int
		slots   []int
		recent  map[int]int64
		maxSize int // bound on the encoded length
	}{
		{name: "empty /12", size: 1<<20 - 2, maxSize: 32},
		{name: "a few Services in a /12", size: 1<<20 - 2, slots: []int{0, 5, 70000, 1<<20 - 3},
			recent: map[int]int64{70000: 1700000000}, maxSize: 64},
		{name: "dense small range", size: 62, slots: []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 61},
			maxSize: 32},
		{name: "full range not a multiple of 64", size: 70, slots: seq(70), maxSize: 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSnapshot("10.96.0.0/12", tt.size)
			for _, i := range tt.slots {
				s.set(i, tt.recent[i])
			}
			b := s.marshal()
			if len(b) > tt.maxSize {
				t.Errorf("encoded %d bytes, want at most %d", len(b), tt.maxSize)
			}
			got, err := unmarshalSnapshot(b)
			if err != nil {
				t.Fatalf("unmarshal: %v", err)
			}
			if got.spec != s.spec || got.size != s.size || got.count != len(tt.slots) {
				t.Errorf("got %s/%d with %d allocated, want %s/%d with %d",
					got.spec, got.size, got.count, s.spec, s.size, len(tt.slots))
			}
			if !slices.Equal(got.allocated(), s.allocated()) {
				t.Errorf("allocated = %v, want %v", got.allocated(), s.allocated())
			}
			for i, at := range tt.recent {
				if got.recent[i] != at {
					t.Errorf("recent[%d] = %d, want %d", i, got.recent[i], at)
				}
			}
		})
	}
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func TestSnapshotCorrupt(t *testing.T) {
	valid := newSnapshot("30000-30009", 10)
	valid.set(3, 0)
	good := valid.marshal()
	tests := []struct {
		name  string
		value []byte
	}{
		{name: "empty", value: nil},
		{name: "unknown version", value: append([]byte{9}, good[1:]...)},
		{name: "truncated", value: good[:len(good)-2]},
		{name: "trailing bytes", value: append(slices.Clone(good), 0)},
		{name: "dense bits beyond the size", value: []byte{1, 1, 'x', 10, bitmapDense, 2, 0, 0xff, 0}},
		{name: "sparse slot beyond the size", value: []byte{1, 1, 'x', 10, bitmapSparse, 1, 10, 0}},
		{name: "time for a free slot", value: []byte{1, 1, 'x', 10, bitmapSparse, 0, 1, 2, 4}},
		{name: "unknown bitmap encoding", value: []byte{1, 1, 'x', 10, 7, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := unmarshalSnapshot(tt.value); !errors.Is(err, ErrCorrupt) {
				t.Errorf("unmarshal(%v) = %v, want ErrCorrupt", tt.value, err)
			}
		})
	}
}
