package ipvs

import (
	"fmt"
	"net"
	"slices"
	"testing"

	mobyipvs "github.com/moby/ipvs"

	"navarch.dev/proxy/internal/testobj"
	"navarch.dev/proxy/pkg/servicemap"
)

// fakeHandle is an in-memory IPVS table.
type fakeHandle struct {
	svcs map[string]*mobyipvs.Service
	dsts map[string]map[string]*mobyipvs.Destination
}

func newFakeHandle() *fakeHandle {
	return &fakeHandle{svcs: map[string]*mobyipvs.Service{}, dsts: map[string]map[string]*mobyipvs.Destination{}}
}

func vsID(s *mobyipvs.Service) string { return fmt.Sprintf("%d/%s:%d", s.Protocol, s.Address, s.Port) }
func rsID(d *mobyipvs.Destination) string {
	return net.JoinHostPort(d.Address.String(), fmt.Sprint(d.Port))
}

func (f *fakeHandle) GetServices() ([]*mobyipvs.Service, error) {
	var out []*mobyipvs.Service
	for _, s := range f.svcs {
		c := *s
		out = append(out, &c)
	}
	return out, nil
}
func (f *fakeHandle) NewService(s *mobyipvs.Service) error {
	c := *s
	f.svcs[vsID(s)] = &c
	f.dsts[vsID(s)] = map[string]*mobyipvs.Destination{}
	return nil
}
func (f *fakeHandle) UpdateService(s *mobyipvs.Service) error {
	c := *s
	f.svcs[vsID(s)] = &c
	return nil
}
func (f *fakeHandle) DelService(s *mobyipvs.Service) error {
	delete(f.svcs, vsID(s))
	delete(f.dsts, vsID(s))
	return nil
}
func (f *fakeHandle) GetDestinations(s *mobyipvs.Service) ([]*mobyipvs.Destination, error) {
	var out []*mobyipvs.Destination
	for _, d := range f.dsts[vsID(s)] {
		c := *d
		out = append(out, &c)
	}
	return out, nil
}
func (f *fakeHandle) NewDestination(s *mobyipvs.Service, d *mobyipvs.Destination) error {
	c := *d
	f.dsts[vsID(s)][rsID(d)] = &c
	return nil
}
func (f *fakeHandle) UpdateDestination(s *mobyipvs.Service, d *mobyipvs.Destination) error {
	return f.NewDestination(s, d)
}
func (f *fakeHandle) DelDestination(s *mobyipvs.Service, d *mobyipvs.Destination) error {
	delete(f.dsts[vsID(s)], rsID(d))
	return nil
}

// table renders the fake's state like `ipvsadm -Ln`, sorted.
func (f *fakeHandle) table() []string {
	var out []string
	for id, s := range f.svcs {
		line := fmt.Sprintf("%s %s", id, s.SchedName)
		if s.Flags&persistent != 0 {
			line += fmt.Sprintf(" persistent %d", s.Timeout)
		}
		out = append(out, line)
		for rid, d := range f.dsts[id] {
			out = append(out, fmt.Sprintf("%s -> %s weight %d", id, rid, d.Weight))
		}
	}
	slices.Sort(out)
	return out
}

type fakeLinks struct{ addrs map[string]bool }

func (l *fakeLinks) EnsureDummy(string) error { return nil }
func (l *fakeLinks) DeleteDummy(string) error { return nil }
func (l *fakeLinks) Addrs(string) ([]string, error) {
	var out []string
	for a := range l.addrs {
		out = append(out, a)
	}
	return out, nil
}
func (l *fakeLinks) AddAddr(_, ip string) error { l.addrs[ip] = true; return nil }
func (l *fakeLinks) DelAddr(_, ip string) error { delete(l.addrs, ip); return nil }
func (l *fakeLinks) NodeIPs() ([]string, error) { return []string{"192.168.1.10"}, nil }

func TestIPVSSync(t *testing.T) {
	tr := servicemap.NewTracker("n1")
	h := newFakeHandle()
	links := &fakeLinks{addrs: map[string]bool{"10.96.9.9": true}}
	p := New(tr, System{IPVS: func() (Handle, error) { return h, nil }, Links: links}, nil, Config{Scheduler: "rr"})
	h.NewService(&mobyipvs.Service{Address: net.ParseIP("10.96.9.9").To4(), Protocol: 6, Port: 80, SchedName: "rr"})

	tr.OnServiceUpdate(testobj.Service("ns", "web", "10.96.0.1", []int32{80}, testobj.NodePort(30080)))
	tr.OnEndpointSliceUpdate(testobj.Slice("ns", "web", "web-a", map[int32]int32{80: 8080},
		testobj.Endpoint{IP: "10.244.1.2"}, testobj.Endpoint{IP: "10.244.1.3"}))
	tr.OnServiceUpdate(testobj.Service("ns", "sticky", "10.96.0.2", []int32{80}, testobj.ClientIPAffinity(600)))
	tr.OnEndpointSliceUpdate(testobj.Slice("ns", "sticky", "sticky-a", map[int32]int32{80: 80}, testobj.Endpoint{IP: "10.244.2.2"}))

	steps := []struct {
		name   string
		change func()
		want   []string
		addrs  []string
	}{
		{
			name: "initial",
			want: []string{
				"6/10.96.0.1:80 rr",
				"6/10.96.0.1:80 -> 10.244.1.2:8080 weight 1",
				"6/10.96.0.1:80 -> 10.244.1.3:8080 weight 1",
				"6/10.96.0.2:80 rr persistent 600",
				"6/10.96.0.2:80 -> 10.244.2.2:80 weight 1",
				"6/192.168.1.10:30080 rr",
				"6/192.168.1.10:30080 -> 10.244.1.2:8080 weight 1",
				"6/192.168.1.10:30080 -> 10.244.1.3:8080 weight 1",
			},
			addrs: []string{"10.96.0.1", "10.96.0.2"},
		},
		{
			name: "removed endpoint drains with weight 0",
			change: func() {
				tr.OnEndpointSliceUpdate(testobj.Slice("ns", "web", "web-a", map[int32]int32{80: 8080}, testobj.Endpoint{IP: "10.244.1.2"}))
				// Simulate an open connection on the leaving real server.
				h.dsts["6/10.96.0.1:80"]["10.244.1.3:8080"].ActiveConnections = 1
			},
			want: []string{
				"6/10.96.0.1:80 rr",
				"6/10.96.0.1:80 -> 10.244.1.2:8080 weight 1",
				"6/10.96.0.1:80 -> 10.244.1.3:8080 weight 0",
				"6/10.96.0.2:80 rr persistent 600",
				"6/10.96.0.2:80 -> 10.244.2.2:80 weight 1",
				"6/192.168.1.10:30080 rr",
				"6/192.168.1.10:30080 -> 10.244.1.2:8080 weight 1",
				"6/192.168.1.10:30080 -> 10.244.1.3:8080 weight 0",
			},
			addrs: []string{"10.96.0.1", "10.96.0.2"},
		},
		{
			name: "drained real server and deleted service go away",
			change: func() {
				h.dsts["6/10.96.0.1:80"]["10.244.1.3:8080"].ActiveConnections = 0
				tr.OnServiceDelete(testobj.Service("ns", "sticky", "10.96.0.2", []int32{80}))
			},
			want: []string{
				"6/10.96.0.1:80 rr",
				"6/10.96.0.1:80 -> 10.244.1.2:8080 weight 1",
				"6/192.168.1.10:30080 rr",
				"6/192.168.1.10:30080 -> 10.244.1.2:8080 weight 1",
			},
			addrs: []string{"10.96.0.1"},
		},
	}
	for _, st := range steps {
		if st.change != nil {
			st.change()
		}
		if err := p.Sync(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		slices.Sort(st.want)
		if got := h.table(); !slices.Equal(got, st.want) {
			t.Errorf("%s: ipvs table\n%q\nwant\n%q", st.name, got, st.want)
		}
		got, _ := links.Addrs(DummyInterface)
		slices.Sort(got)
		if !slices.Equal(got, st.addrs) {
			t.Errorf("%s: %s addresses %v, want %v", st.name, DummyInterface, got, st.addrs)
		}
	}
}
