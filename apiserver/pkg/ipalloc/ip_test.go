package ipalloc

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func cidr(t *testing.T, s string) *net.IPNet {
	t.Helper()
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return n
}

func ips(ss ...string) []net.IP {
	out := make([]net.IP, len(ss))
	for i, s := range ss {
		out[i] = net.ParseIP(s)
	}
	return out
}

// keyFor is a distinct etcd key per (sub)test.
func keyFor(t *testing.T) string { return "/registry/ranges/" + t.Name() }

func newIPs(t *testing.T, endpoint, key, cidrText string, opts ...Option) *IPAllocator {
	t.Helper()
	a, err := NewIPAllocator(newClient(t, endpoint), key, cidr(t, cidrText), opts...)
	if err != nil {
		t.Fatalf("NewIPAllocator(%s): %v", cidrText, err)
	}
	return a
}

// ipIn reports whether ip lies in the inclusive range [lo, hi].
func ipIn(ip net.IP, lo, hi string) bool {
	v := ip.To16()
	return strings.Compare(string(v), string(net.ParseIP(lo).To16())) >= 0 &&
		strings.Compare(string(v), string(net.ParseIP(hi).To16())) <= 0
}

func TestNewIPAllocator(t *testing.T) {
	cli := newClient(t, "http://127.0.0.1:1") // never dialled: construction does not touch etcd
	tests := []struct {
		name     string
		cidr     string
		wantSize int
		wantErr  string
	}{
		{name: "default range", cidr: "10.96.0.0/12", wantSize: 1<<20 - 2},
		{name: "unmasked address is masked", cidr: "10.96.7.9/24", wantSize: 254},
		{name: "smallest IPv4 range", cidr: "192.168.0.0/30", wantSize: 2},
		{name: "IPv4 too large", cidr: "10.0.0.0/8", wantErr: "too large"},
		{name: "IPv4 /31 has no usable address", cidr: "10.0.0.0/31", wantErr: "no usable address"},
		{name: "IPv4 /32 has no usable address", cidr: "10.0.0.1/32", wantErr: "no usable address"},
		{name: "small IPv6 range", cidr: "fd00::/120", wantSize: 255},
		{name: "large IPv6 range is capped", cidr: "fd00::/64", wantSize: 65535},
		{name: "IPv6 /128 has no usable address", cidr: "fd00::1/128", wantErr: "no usable address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := NewIPAllocator(cli, "/k", cidr(t, tt.cidr))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("NewIPAllocator(%s) error = %v, want one containing %q", tt.cidr, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewIPAllocator(%s): %v", tt.cidr, err)
			}
			if got := a.Size(); got != tt.wantSize {
				t.Errorf("Size() = %d, want %d", got, tt.wantSize)
			}
			if got, want := a.CIDR().String(), cidr(t, tt.cidr).String(); got != want {
				t.Errorf("CIDR() = %s, want %s", got, want)
			}
		})
	}
	if _, err := NewIPAllocator(cli, "/k", nil); err == nil {
		t.Error("NewIPAllocator(nil CIDR) succeeded")
	}
	if _, err := NewIPAllocator(cli, "", cidr(t, "10.96.0.0/12")); err == nil {
		t.Error("NewIPAllocator with empty key succeeded")
	}
}

func TestIPAllocatorAllocate(t *testing.T) {
	ep := startEtcd(t)
	tests := []struct {
		name    string
		cidr    string
		taken   []string
		ip      string
		wantErr error
		wantMsg string
	}{
		{name: "free address", cidr: "10.96.0.0/12", ip: "10.100.3.4"},
		{name: "reserved first address explicitly", cidr: "10.96.0.0/12", ip: "10.96.0.1"},
		{name: "last usable address", cidr: "10.96.0.0/12", ip: "10.111.255.254"},
		{name: "IPv4-mapped form", cidr: "10.96.0.0/12", ip: "::ffff:10.96.0.5"},
		{name: "already allocated", cidr: "10.96.0.0/12", taken: []string{"10.96.0.10"}, ip: "10.96.0.10",
			wantErr: ErrAllocated, wantMsg: "provided IP is already allocated"},
		{name: "network address", cidr: "10.96.0.0/12", ip: "10.96.0.0", wantErr: ErrNotInRange,
			wantMsg: "the provided IP (10.96.0.0) is not in the valid range. The range of valid IPs is 10.96.0.0/12"},
		{name: "broadcast address", cidr: "10.96.0.0/12", ip: "10.111.255.255", wantErr: ErrNotInRange,
			wantMsg: "the provided IP (10.111.255.255) is not in the valid range. The range of valid IPs is 10.96.0.0/12"},
		{name: "outside the range", cidr: "10.96.0.0/12", ip: "192.168.0.1", wantErr: ErrNotInRange,
			wantMsg: "the provided IP (192.168.0.1) is not in the valid range. The range of valid IPs is 10.96.0.0/12"},
		{name: "IPv6 address in IPv4 range", cidr: "10.96.0.0/12", ip: "fd00::1", wantErr: ErrNotInRange,
			wantMsg: "the provided IP (fd00::1) is not in the valid range. The range of valid IPs is 10.96.0.0/12"},
		{name: "IPv6 free address", cidr: "fd00::/108", ip: "fd00::ffff"},
		{name: "IPv6 network address", cidr: "fd00::/108", ip: "fd00::", wantErr: ErrNotInRange,
			wantMsg: "the provided IP (fd00::) is not in the valid range. The range of valid IPs is fd00::/108"},
		{name: "IPv6 beyond the 65535 used addresses", cidr: "fd00::/108", ip: "fd00::1:0", wantErr: ErrNotInRange,
			wantMsg: "the provided IP (fd00::1:0) is not in the valid range. The range of valid IPs is fd00::/108"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			a := newIPs(t, ep, keyFor(t), tt.cidr)
			for _, ip := range ips(tt.taken...) {
				if err := a.Allocate(ctx, ip); err != nil {
					t.Fatalf("Allocate(%v): %v", ip, err)
				}
			}
			ip := net.ParseIP(tt.ip)
			err := a.Allocate(ctx, ip)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Allocate(%v): %v", ip, err)
				}
				if has, err := a.Has(ctx, ip); err != nil || !has {
					t.Errorf("Has(%v) = %v, %v after Allocate, want true", ip, has, err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Allocate(%v) error = %v, want %v", ip, err, tt.wantErr)
			}
			if err.Error() != tt.wantMsg {
				t.Errorf("Allocate(%v) error text = %q, want %q", ip, err.Error(), tt.wantMsg)
			}
			var allocErr *Error
			if !errors.As(err, &allocErr) {
				t.Errorf("Allocate(%v) error %T is not an *Error", ip, err)
			}
		})
	}
}

func TestIPAllocatorLifecycle(t *testing.T) {
	ep := startEtcd(t)
	ctx := t.Context()
	a := newIPs(t, ep, keyFor(t), "10.96.0.0/12")

	ip, err := a.AllocateNext(ctx)
	if err != nil {
		t.Fatalf("AllocateNext: %v", err)
	}
	if !a.CIDR().Contains(ip) {
		t.Fatalf("AllocateNext = %v, not in %v", ip, a.CIDR())
	}
	if has, err := a.Has(ctx, ip); err != nil || !has {
		t.Fatalf("Has(%v) = %v, %v after AllocateNext, want true", ip, has, err)
	}
	if err := a.Allocate(ctx, ip); !errors.Is(err, ErrAllocated) {
		t.Fatalf("Allocate(%v) of an allocated IP = %v, want ErrAllocated", ip, err)
	}
	if err := a.Release(ctx, ip); err != nil {
		t.Fatalf("Release(%v): %v", ip, err)
	}
	if has, err := a.Has(ctx, ip); err != nil || has {
		t.Fatalf("Has(%v) = %v, %v after Release, want false", ip, has, err)
	}
	if err := a.Release(ctx, ip); err != nil {
		t.Fatalf("Release(%v) of a free IP: %v", ip, err)
	}
	if err := a.Release(ctx, net.ParseIP("192.168.1.1")); err != nil {
		t.Fatalf("Release of an IP outside the range: %v", err)
	}
	if has, err := a.Has(ctx, net.ParseIP("192.168.1.1")); err != nil || has {
		t.Fatalf("Has(outside the range) = %v, %v, want false", has, err)
	}
	if err := a.Allocate(ctx, ip); err != nil {
		t.Fatalf("Allocate(%v) after Release: %v", ip, err)
	}

	// A restarted apiserver sees the same state.
	b := newIPs(t, ep, keyFor(t), "10.96.0.0/12")
	if has, err := b.Has(ctx, ip); err != nil || !has {
		t.Fatalf("new allocator: Has(%v) = %v, %v, want true", ip, has, err)
	}
}

func TestIPAllocatorFull(t *testing.T) {
	ep := startEtcd(t)
	tests := []struct {
		name     string
		cidr     string
		reserved string
		wantNext int // addresses AllocateNext hands out
	}{
		{name: "IPv4 /29", cidr: "192.168.0.0/29", reserved: "192.168.0.1", wantNext: 5},
		{name: "IPv4 /30", cidr: "192.168.0.0/30", reserved: "192.168.0.1", wantNext: 1},
		{name: "IPv6 /125", cidr: "fd00::/125", reserved: "fd00::1", wantNext: 6},
		{name: "IPv4 /27 with a static band", cidr: "192.168.0.0/27", reserved: "192.168.0.1", wantNext: 29},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			a := newIPs(t, ep, keyFor(t), tt.cidr)
			reserved := net.ParseIP(tt.reserved)
			var got []string
			for range tt.wantNext {
				ip, err := a.AllocateNext(ctx)
				if err != nil {
					t.Fatalf("AllocateNext after %v: %v", got, err)
				}
				if ip.Equal(reserved) {
					t.Fatalf("AllocateNext handed out the reserved address %v", ip)
				}
				if !a.CIDR().Contains(ip) || slices.Contains(got, ip.String()) {
					t.Fatalf("AllocateNext = %v: outside %s or handed out before (%v)", ip, tt.cidr, got)
				}
				got = append(got, ip.String())
			}
			ip, err := a.AllocateNext(ctx)
			if !errors.Is(err, ErrFull) || err.Error() != "range is full" {
				t.Fatalf("AllocateNext on a full range = %v, %v, want error %q", ip, err, "range is full")
			}
			if err := a.Allocate(ctx, reserved); err != nil {
				t.Fatalf("Allocate(%v) of the reserved address: %v", reserved, err)
			}
			freed := net.ParseIP(got[len(got)/2])
			if err := a.Release(ctx, freed); err != nil {
				t.Fatalf("Release(%v): %v", freed, err)
			}
			if ip, err := a.AllocateNext(ctx); err != nil || !ip.Equal(freed) {
				t.Fatalf("AllocateNext after releasing %v = %v, %v", freed, ip, err)
			}
		})
	}
}

func TestIPAllocatorStaticBand(t *testing.T) {
	ep := startEtcd(t)
	tests := []struct {
		name string
		cidr string
		// dynamic allocations to make and the band [bandLo, bandHi] they
		// must avoid while the upper part has room.
		n              int
		bandLo, bandHi string
		fill           bool // then fill the range: the band is used last
	}{
		{name: "default /12 keeps 256 addresses", cidr: "10.96.0.0/12", n: 50,
			bandLo: "10.96.0.1", bandHi: "10.96.1.0"},
		{name: "/24 keeps 16 addresses", cidr: "10.0.0.0/24", n: 254 - 16,
			bandLo: "10.0.0.1", bandHi: "10.0.0.16", fill: true},
		{name: "/28 has no band", cidr: "10.0.0.0/28", n: 0, bandLo: "10.0.0.1", bandHi: "10.0.0.1", fill: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			a := newIPs(t, ep, keyFor(t), tt.cidr)
			for range tt.n {
				ip, err := a.AllocateNext(ctx)
				if err != nil {
					t.Fatalf("AllocateNext: %v", err)
				}
				if ipIn(ip, tt.bandLo, tt.bandHi) {
					t.Fatalf("AllocateNext = %v, inside the static band %s-%s", ip, tt.bandLo, tt.bandHi)
				}
			}
			if !tt.fill {
				return
			}
			for {
				ip, err := a.AllocateNext(ctx)
				if errors.Is(err, ErrFull) {
					break
				}
				if err != nil {
					t.Fatalf("AllocateNext: %v", err)
				}
				if !ipIn(ip, tt.bandLo, tt.bandHi) && tt.n > 0 {
					t.Fatalf("AllocateNext = %v, outside the static band %s-%s once the rest is full",
						ip, tt.bandLo, tt.bandHi)
				}
			}
			// Everything but the reserved address is taken.
			for i, ip := range []string{tt.bandLo, tt.bandHi} {
				has, err := a.Has(ctx, net.ParseIP(ip))
				if err != nil || has != (i == 1 && tt.bandLo != tt.bandHi) {
					t.Errorf("Has(%s) = %v, %v", ip, has, err)
				}
			}
		})
	}
}

// Two apiservers (two allocators, two etcd clients) racing for a small range
// hand out every address at most once and fill it exactly.
func TestIPAllocatorConcurrent(t *testing.T) {
	ep := startEtcd(t)
	ctx := t.Context()
	key := keyFor(t)
	allocators := []*IPAllocator{newIPs(t, ep, key, "10.0.0.0/26"), newIPs(t, ep, key, "10.0.0.0/26")}
	const workers = 200
	wantOK := allocators[0].Size() - 1 // all but the reserved first address

	var (
		mu     sync.Mutex
		got    = map[string]int{}
		full   int
		faults []error
		wg     sync.WaitGroup
	)
	for i := range workers {
		wg.Go(func() {
			ip, err := allocators[i%2].AllocateNext(ctx)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, ErrFull):
				full++
			case err != nil:
				faults = append(faults, err)
			default:
				got[ip.String()]++
			}
		})
	}
	wg.Wait()
	if len(faults) > 0 {
		t.Fatalf("AllocateNext failed: %v", faults)
	}
	for ip, n := range got {
		if n > 1 {
			t.Errorf("%s handed out %d times", ip, n)
		}
	}
	if len(got) != wantOK || full != workers-wantOK {
		t.Errorf("%d distinct IPs and %d ErrFull, want %d and %d", len(got), full, wantOK, workers-wantOK)
	}
	if got["10.0.0.1"] != 0 {
		t.Errorf("the reserved address 10.0.0.1 was handed out")
	}
	third := newIPs(t, ep, key, "10.0.0.0/26")
	for ip := range got {
		if has, err := third.Has(ctx, net.ParseIP(ip)); err != nil || !has {
			t.Errorf("Has(%s) = %v, %v, want true", ip, has, err)
		}
	}
}

// Each allocator caches the last state it saw; it must never refuse or skip
// work because of what another apiserver changed since.
func TestIPAllocatorSeesOtherApiservers(t *testing.T) {
	ep := startEtcd(t)
	x, y := net.ParseIP("10.96.0.20"), net.ParseIP("10.96.0.21")
	tests := []struct {
		name  string
		steps func(t *testing.T, a, b *IPAllocator) error
	}{
		{name: "release of an address the other allocated", steps: func(t *testing.T, a, b *IPAllocator) error {
			mustAllocate(t, a, x)
			mustAllocate(t, b, y)
			if err := a.Release(t.Context(), y); err != nil {
				return err
			}
			return wantHas(t, b, y, false)
		}},
		{name: "allocate an address the other released", steps: func(t *testing.T, a, b *IPAllocator) error {
			mustAllocate(t, a, x)
			mustAllocate(t, a, y)
			if err := b.Release(t.Context(), y); err != nil {
				return err
			}
			return a.Allocate(t.Context(), y)
		}},
		{name: "allocate an address the other allocated", steps: func(t *testing.T, a, b *IPAllocator) error {
			mustAllocate(t, a, x)
			mustAllocate(t, b, y)
			if err := a.Allocate(t.Context(), y); !errors.Is(err, ErrAllocated) {
				t.Errorf("Allocate(%v) = %v, want ErrAllocated", y, err)
			}
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newIPs(t, ep, keyFor(t), "10.96.0.0/12")
			b := newIPs(t, ep, keyFor(t), "10.96.0.0/12")
			if err := tt.steps(t, a, b); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func mustAllocate(t *testing.T, a *IPAllocator, ip net.IP) {
	t.Helper()
	if err := a.Allocate(t.Context(), ip); err != nil {
		t.Fatalf("Allocate(%v): %v", ip, err)
	}
}

func wantHas(t *testing.T, a *IPAllocator, ip net.IP, want bool) error {
	t.Helper()
	has, err := a.Has(t.Context(), ip)
	if err != nil {
		return err
	}
	if has != want {
		t.Errorf("Has(%v) = %v, want %v", ip, has, want)
	}
	return nil
}

func TestIPAllocatorRangeChanged(t *testing.T) {
	ep := startEtcd(t)
	ctx := t.Context()
	key := keyFor(t)
	old := newIPs(t, ep, key, "10.96.0.0/12")
	ip, err := old.AllocateNext(ctx)
	if err != nil {
		t.Fatalf("AllocateNext: %v", err)
	}
	changed := newIPs(t, ep, key, "10.96.0.0/16")
	if _, err := changed.AllocateNext(ctx); !errors.Is(err, ErrRangeChanged) {
		t.Errorf("AllocateNext with another range = %v, want ErrRangeChanged", err)
	}
	if err := changed.Allocate(ctx, net.ParseIP("10.96.0.5")); !errors.Is(err, ErrRangeChanged) {
		t.Errorf("Allocate with another range = %v, want ErrRangeChanged", err)
	}
	if _, err := changed.Has(ctx, net.ParseIP("10.96.0.5")); !errors.Is(err, ErrRangeChanged) {
		t.Errorf("Has with another range = %v, want ErrRangeChanged", err)
	}
	_, err = changed.Repair(ctx, nil)
	if !errors.Is(err, ErrRangeChanged) {
		t.Fatalf("Repair with another range = %v, want ErrRangeChanged", err)
	}
	if !strings.Contains(err.Error(), "10.96.0.0/12") || !strings.Contains(err.Error(), "10.96.0.0/16") {
		t.Errorf("error %q does not name the stored and the configured range", err)
	}
	// The stored state was not reset.
	if has, err := old.Has(ctx, ip); err != nil || !has {
		t.Errorf("Has(%v) with the stored range = %v, %v, want true", ip, has, err)
	}
}

func TestIPAllocatorRepair(t *testing.T) {
	ep := startEtcd(t)
	ctx := t.Context()
	a := newIPs(t, ep, keyFor(t), "10.96.0.0/12", WithLeakGrace(0))
	// Allocated by requests: .10 and .11 belong to Services, .12 and .13
	// leaked when their creates failed.
	for _, ip := range ips("10.96.0.10", "10.96.0.11", "10.96.0.12", "10.96.0.13") {
		mustAllocate(t, a, ip)
	}
	inUse := ips(
		"10.96.0.10", "10.96.0.11",
		"10.96.0.14",  // stored, but its allocation was lost
		"10.96.0.10",  // shared by two Services
		"192.168.0.1", // from a previous range
	)
	rep, err := a.Repair(ctx, inUse)
	if err != nil {
		t.Fatalf("Repair: %v", err)
	}
	want := RepairReport[net.IP]{
		Restored:   ips("10.96.0.14"),
		Reclaimed:  ips("10.96.0.12", "10.96.0.13"),
		OutOfRange: ips("192.168.0.1"),
		Duplicates: ips("10.96.0.10"),
	}
	checkReport(t, rep, want)
	for _, tc := range []struct {
		ip   string
		want bool
	}{{"10.96.0.10", true}, {"10.96.0.11", true}, {"10.96.0.12", false}, {"10.96.0.13", false}, {"10.96.0.14", true}} {
		if err := wantHas(t, a, net.ParseIP(tc.ip), tc.want); err != nil {
			t.Fatal(err)
		}
	}
	// A second run finds nothing to do.
	rep, err = a.Repair(ctx, ips("10.96.0.10", "10.96.0.11", "10.96.0.14"))
	if err != nil {
		t.Fatalf("second Repair: %v", err)
	}
	checkReport(t, rep, RepairReport[net.IP]{})
}

// Another apiserver may have allocated an address for a Service it has not
// stored yet: Repair keeps such young allocations for the leak grace.
func TestIPAllocatorRepairLeakGrace(t *testing.T) {
	ep := startEtcd(t)
	ctx := t.Context()
	key := keyFor(t)
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func(d time.Duration) Option {
		return func(o *options) { o.now = func() time.Time { return start.Add(d) } }
	}
	inFlight := newIPs(t, ep, key, "10.96.0.0/12", WithLeakGrace(time.Minute), clock(0))
	ip, err := inFlight.AllocateNext(ctx)
	if err != nil {
		t.Fatalf("AllocateNext: %v", err)
	}
	tests := []struct {
		name  string
		after time.Duration
		want  RepairReport[net.IP]
	}{
		{name: "within the grace", after: 30 * time.Second, want: RepairReport[net.IP]{Pending: []net.IP{ip}}},
		{name: "after the grace", after: 61 * time.Second, want: RepairReport[net.IP]{Reclaimed: []net.IP{ip}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repairer := newIPs(t, ep, key, "10.96.0.0/12", WithLeakGrace(time.Minute), clock(tt.after))
			rep, err := repairer.Repair(ctx, nil)
			if err != nil {
				t.Fatalf("Repair: %v", err)
			}
			checkReport(t, rep, tt.want)
			if err := wantHas(t, repairer, ip, len(tt.want.Pending) == 1); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func checkReport[T any](t *testing.T, got, want RepairReport[T]) {
	t.Helper()
	str := func(vs []T) string { return fmt.Sprint(vs) }
	for _, f := range []struct {
		field     string
		got, want []T
	}{
		{"Restored", got.Restored, want.Restored},
		{"Reclaimed", got.Reclaimed, want.Reclaimed},
		{"Pending", got.Pending, want.Pending},
		{"OutOfRange", got.OutOfRange, want.OutOfRange},
		{"Duplicates", got.Duplicates, want.Duplicates},
	} {
		if str(f.got) != str(f.want) {
			t.Errorf("report %s = [%s], want [%s]", f.field, str(f.got), str(f.want))
		}
	}
}

func TestIPAllocatorCorruptValue(t *testing.T) {
	ep := startEtcd(t)
	ctx := t.Context()
	key := keyFor(t)
	if _, err := newClient(t, ep).Put(ctx, key, "not a range allocation"); err != nil {
		t.Fatalf("put: %v", err)
	}
	a := newIPs(t, ep, key, "10.96.0.0/12")
	if _, err := a.AllocateNext(ctx); !errors.Is(err, ErrCorrupt) {
		t.Errorf("AllocateNext over a corrupt value = %v, want ErrCorrupt", err)
	}
}
