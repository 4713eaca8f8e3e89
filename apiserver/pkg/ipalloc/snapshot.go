package ipalloc

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
)

// maxSlots bounds a range's bitmap (2^20 bits, 128 KiB dense), the size of
// the largest ClusterIP range upstream accepts (an IPv4 /12).
const maxSlots = 1 << 20

// snapshot is the state of one range at one etcd revision: which slots are
// allocated, and when the recently allocated ones were taken (so Repair can
// tell a leak from an allocation whose object is still being written).
type snapshot struct {
	spec  string
	size  int
	words []uint64
	count int
	// recent maps an allocated slot to the Unix time (seconds) it was
	// allocated at, for allocations younger than the leak grace.
	recent map[int]int64
}

func newSnapshot(spec string, size int) *snapshot {
	return &snapshot{spec: spec, size: size, words: make([]uint64, (size+63)/64), recent: map[int]int64{}}
}

func (s *snapshot) has(i int) bool { return s.words[i/64]&(1<<(i%64)) != 0 }

// set marks free slot i allocated at Unix time at (0: no timestamp kept).
func (s *snapshot) set(i int, at int64) {
	s.words[i/64] |= 1 << (i % 64)
	s.count++
	if at != 0 {
		s.recent[i] = at
	}
}

// clear frees allocated slot i.
func (s *snapshot) clear(i int) {
	s.words[i/64] &^= 1 << (i % 64)
	s.count--
	delete(s.recent, i)
}

// firstFree returns the lowest free slot in [lo, hi), or -1.
func (s *snapshot) firstFree(lo, hi int) int {
	for i := lo; i < hi; {
		w := ^s.words[i/64] >> (i % 64)
		if w == 0 {
			i = (i/64 + 1) * 64
			continue
		}
		if j := i + bits.TrailingZeros64(w); j < hi {
			return j
		}
		return -1
	}
	return -1
}

// pickFree returns a free slot in [lo, hi), scanning from start (lo <= start
// < hi) and wrapping around, or -1 when the band is full.
func (s *snapshot) pickFree(lo, hi, start int) int {
	if lo >= hi {
		return -1
	}
	if i := s.firstFree(start, hi); i >= 0 {
		return i
	}
	return s.firstFree(lo, start)
}

// allocated returns the allocated slots in ascending order.
func (s *snapshot) allocated() []int {
	out := make([]int, 0, s.count)
	for wi, w := range s.words {
		for w != 0 {
			b := bits.TrailingZeros64(w)
			out = append(out, wi*64+b)
			w &^= 1 << b
		}
	}
	return out
}

// prune forgets allocation times older than grace seconds before now.
func (s *snapshot) prune(now, grace int64) {
	for i, at := range s.recent {
		if now-at >= grace {
			delete(s.recent, i)
		}
	}
}

// The stored value, in order:
//
//	byte     format version (1)
//	uvarint  length of the range spec, then the spec ("10.96.0.0/12", "30000-32767")
//	uvarint  number of slots
//	byte     bitmap encoding:
//	           0 sparse: uvarint count, then count uvarint gaps (first slot; then
//	             slot - previous slot - 1)
//	           1 dense: uvarint n, then n bytes of bitmap, slot i at bit i%8 of
//	             byte i/8, trailing zero bytes dropped
//	uvarint  number of recent allocations, then per allocation (ascending slot)
//	         uvarint gap as above and varint Unix seconds
//
// Whichever bitmap encoding is shorter is written: a few hundred Services in a
// /12 take a few hundred bytes instead of 128 KiB per write.
const (
	formatVersion = 1
	bitmapSparse  = 0
	bitmapDense   = 1
)

func (s *snapshot) marshal() []byte {
	b := []byte{formatVersion}
	b = binary.AppendUvarint(b, uint64(len(s.spec)))
	b = append(b, s.spec...)
	b = binary.AppendUvarint(b, uint64(s.size))

	slotsAt := s.allocated()
	sparse := binary.AppendUvarint(nil, uint64(len(slotsAt)))
	sparse = appendGaps(sparse, slotsAt, nil)

	dense := make([]byte, 0, len(s.words)*8)
	for _, w := range s.words {
		dense = binary.LittleEndian.AppendUint64(dense, w)
	}
	for len(dense) > 0 && dense[len(dense)-1] == 0 {
		dense = dense[:len(dense)-1]
	}
	if len(sparse) <= len(dense)+binary.MaxVarintLen32 {
		b = append(b, bitmapSparse)
		b = append(b, sparse...)
	} else {
		b = append(b, bitmapDense)
		b = binary.AppendUvarint(b, uint64(len(dense)))
		b = append(b, dense...)
	}

	recent := make([]int, 0, len(s.recent))
	for i := range s.recent {
		recent = append(recent, i)
	}
	slices.Sort(recent)
	b = binary.AppendUvarint(b, uint64(len(recent)))
	return appendGaps(b, recent, s.recent)
}

// appendGaps appends ascending slots as gaps, each followed by its time in at
// when at is not nil.
func appendGaps(b []byte, slotsAt []int, at map[int]int64) []byte {
	prev := -1
	for _, i := range slotsAt {
		b = binary.AppendUvarint(b, uint64(i-prev-1))
		if at != nil {
			b = binary.AppendVarint(b, at[i])
		}
		prev = i
	}
	return b
}

// unmarshalSnapshot decodes a stored value; errors wrap ErrCorrupt.
func unmarshalSnapshot(b []byte) (*snapshot, error) {
	d := decoder{b: b}
	if v := d.byte(); d.err == nil && v != formatVersion {
		return nil, fmt.Errorf("%w: unknown format version %d", ErrCorrupt, v)
	}
	specLen := d.uvarint(64)
	spec := string(d.bytes(specLen))
	size := d.uvarint(maxSlots)
	if d.err != nil {
		return nil, d.err
	}
	if spec == "" || size == 0 {
		return nil, fmt.Errorf("%w: empty range", ErrCorrupt)
	}
	s := newSnapshot(spec, size)
	switch enc := d.byte(); {
	case d.err != nil:
	case enc == bitmapSparse:
		n := d.uvarint(size)
		prev := -1
		for range n {
			i := prev + 1 + d.uvarint(size)
			if d.err != nil {
				break
			}
			if i >= size {
				return nil, fmt.Errorf("%w: slot %d beyond range size %d", ErrCorrupt, i, size)
			}
			s.set(i, 0)
			prev = i
		}
	case enc == bitmapDense:
		raw := d.bytes(d.uvarint(len(s.words) * 8))
		for j, x := range raw {
			s.words[j/8] |= uint64(x) << (8 * (j % 8))
		}
		if last := s.words[len(s.words)-1]; size%64 != 0 && last>>(size%64) != 0 {
			return nil, fmt.Errorf("%w: slots set beyond range size %d", ErrCorrupt, size)
		}
		for _, w := range s.words {
			s.count += bits.OnesCount64(w)
		}
	default:
		return nil, fmt.Errorf("%w: unknown bitmap encoding %d", ErrCorrupt, enc)
	}
	n := d.uvarint(size)
	prev := -1
	for range n {
		i := prev + 1 + d.uvarint(size)
		at := d.varint()
		if d.err != nil {
			break
		}
		if i >= size || !s.has(i) {
			return nil, fmt.Errorf("%w: allocation time for free slot %d", ErrCorrupt, i)
		}
		s.recent[i] = at
		prev = i
	}
	if d.err == nil && len(d.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(d.b))
	}
	if d.err != nil {
		return nil, d.err
	}
	return s, nil
}

// decoder reads the stored format, remembering the first error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: truncated or invalid %s", ErrCorrupt, what)
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.fail("header")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

// uvarint reads an unsigned varint no larger than limit.
func (d *decoder) uvarint(limit int) int {
	v, n := binary.Uvarint(d.b)
	if n <= 0 || v > uint64(limit) {
		d.fail("number")
		return 0
	}
	d.b = d.b[n:]
	return int(v)
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("timestamp")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes(n int) []byte {
	if len(d.b) < n {
		d.fail("bytes")
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}
