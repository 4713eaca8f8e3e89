package leaderelect

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/pflag"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

var leasesGVR = coordinationv1.SchemeGroupVersion.WithResource("leases")

// apiServer is one object store shared by several candidates, each talking
// to it through its own fake clientset so the test can tell their requests
// apart and cut a candidate off.
type apiServer struct {
	tracker k8stesting.ObjectTracker

	mu      sync.Mutex
	counts  map[string]int  // "<candidate> <verb>" → lease requests
	down    map[string]bool // candidates whose requests fail
	changed chan struct{}   // closed and replaced on every request
}

func newAPIServer() *apiServer {
	return &apiServer{
		tracker: fake.NewClientset().Tracker(),
		counts:  map[string]int{},
		down:    map[string]bool{},
		changed: make(chan struct{}),
	}
}

func (s *apiServer) client(candidate string) *fake.Clientset {
	c := fake.NewClientset()
	c.PrependReactor("*", "*", func(action k8stesting.Action) (bool, runtime.Object, error) {
		s.mu.Lock()
		down := s.down[candidate]
		if action.GetResource() == leasesGVR {
			s.counts[candidate+" "+action.GetVerb()]++
		}
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
		if down {
			return true, nil, errors.New("dial tcp 127.0.0.1:6443: connect: connection refused")
		}
		return k8stesting.ObjectReaction(s.tracker)(action)
	})
	return c
}

func (s *apiServer) count(candidate, verb string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[candidate+" "+verb]
}

func (s *apiServer) setDown(candidate string) {
	s.mu.Lock()
	s.down[candidate] = true
	s.mu.Unlock()
}

// waitFor blocks until cond holds, re-checking after every request. Any
// number of goroutines may wait at once.
func (s *apiServer) waitFor(cond func() bool) {
	for {
		s.mu.Lock()
		changed := s.changed
		s.mu.Unlock()
		if cond() {
			return
		}
		<-changed
	}
}

// holder returns the lease's holder identity, or "<none>" if there is no
// lease. It is safe to call from any goroutine.
func (s *apiServer) holder(opts Options) string {
	obj, err := s.tracker.Get(leasesGVR, opts.ResourceNamespace, opts.ResourceName)
	if apierrors.IsNotFound(err) {
		return "<none>"
	}
	if err != nil {
		return "<error: " + err.Error() + ">"
	}
	lease := obj.(*coordinationv1.Lease)
	if lease.Spec.HolderIdentity == nil {
		return ""
	}
	return *lease.Spec.HolderIdentity
}

func (s *apiServer) createLease(t *testing.T, opts Options, holder string) {
	t.Helper()
	seconds := int32(3600)
	now := metav1.NowMicro()
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: opts.ResourceNamespace, Name: opts.ResourceName},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity:       &holder,
			LeaseDurationSeconds: &seconds,
			AcquireTime:          &now,
			RenewTime:            &now,
		},
	}
	if err := s.tracker.Create(leasesGVR, lease, opts.ResourceNamespace); err != nil {
		t.Fatalf("create lease: %v", err)
	}
}

// stableOptions never lets a lease expire during a test, so only a release
// hands leadership over.
func stableOptions() Options {
	opts := NewOptions("navarch-test")
	opts.LeaseDuration = time.Hour
	opts.RenewDeadline = 30 * time.Minute
	opts.RetryPeriod = 10 * time.Millisecond
	return opts
}

func start(ctx context.Context, s *apiServer, opts Options, identity string, run func(ctx context.Context)) <-chan error {
	errc := make(chan error, 1)
	client := s.client(identity)
	go func() { errc <- Run(ctx, client, opts, identity, run) }()
	return errc
}

// TestOneLeaderAtATime: the first candidate leads and keeps renewing while
// a second one waits; when the first shuts down it releases the lease only
// after its work stopped, and the second takes over.
func TestOneLeaderAtATime(t *testing.T) {
	s := newAPIServer()
	opts := stableOptions()

	ctxA, cancelA := context.WithCancel(context.Background())
	defer cancelA()
	startedA := make(chan struct{})
	holderWhenAStopped := make(chan string, 1)
	errA := start(ctxA, s, opts, "a", func(ctx context.Context) {
		close(startedA)
		<-ctx.Done()
		// While its work drains, a keeps renewing and must not release:
		// wait for two renewals or for the lease to change hands.
		renewed := s.count("a", "update")
		s.waitFor(func() bool { return s.count("a", "update") >= renewed+2 || s.holder(opts) != "a" })
		holderWhenAStopped <- s.holder(opts)
	})
	<-startedA
	if got := s.holder(opts); got != "a" {
		t.Fatalf("lease holder after a started = %q, want a", got)
	}

	ctxB, cancelB := context.WithCancel(context.Background())
	defer cancelB()
	startedB := make(chan struct{})
	errB := start(ctxB, s, opts, "b", func(ctx context.Context) {
		close(startedB)
		<-ctx.Done()
	})

	// Let b try several times while a renews in between. b's repeated GETs
	// show its earlier attempts failed: a leader renews without a GET.
	s.waitFor(func() bool { return s.count("b", "get") >= 1 })
	renewals := s.count("a", "update")
	s.waitFor(func() bool { return s.count("b", "get") >= 4 && s.count("a", "update") >= renewals+2 })
	select {
	case <-startedB:
		t.Fatal("b started leading while a held the lease")
	default:
	}
	if got := s.holder(opts); got != "a" {
		t.Fatalf("lease holder while a renews = %q, want a", got)
	}

	cancelA()
	if err := <-errA; err != nil {
		t.Fatalf("a's Run returned %v after its context ended, want nil", err)
	}
	if got := <-holderWhenAStopped; got != "a" {
		t.Errorf("lease holder while a's work drained = %q, want a (released too early)", got)
	}
	if got := s.holder(opts); got == "a" {
		t.Errorf("lease still held by a after its Run returned")
	}

	<-startedB
	if got := s.holder(opts); got != "b" {
		t.Errorf("lease holder after b started = %q, want b", got)
	}
	cancelB()
	if err := <-errB; err != nil {
		t.Fatalf("b's Run returned %v after its context ended, want nil", err)
	}
}

func TestLeadershipLost(t *testing.T) {
	s := newAPIServer()
	opts := NewOptions("navarch-test")
	opts.LeaseDuration = 2 * time.Second
	opts.RenewDeadline = time.Second
	opts.RetryPeriod = 20 * time.Millisecond

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{})
	stopped := make(chan struct{})
	errc := start(ctx, s, opts, "a", func(ctx context.Context) {
		close(started)
		<-ctx.Done()
		close(stopped)
	})
	<-started
	s.setDown("a")

	if err := <-errc; !errors.Is(err, ErrLeadershipLost) {
		t.Fatalf("Run returned %v, want ErrLeadershipLost", err)
	}
	select {
	case <-stopped:
	default:
		t.Error("Run returned before the leader's work stopped")
	}
	if ctx.Err() != nil {
		t.Error("caller's context was cancelled; only the leader's should be")
	}
}

func TestRunOutcomes(t *testing.T) {
	disabled := stableOptions()
	disabled.LeaderElect = false

	tests := []struct {
		name string
		opts Options
		// heldBy pre-creates a live lease held by another candidate.
		heldBy string
		// returnAtOnce makes run return without waiting for its context.
		returnAtOnce bool
		// cancelAfterGets cancels the context after this many lease GETs.
		cancelAfterGets int
		wantRan         bool
		wantHolder      string
	}{
		{
			name:         "disabled runs without a lease",
			opts:         disabled,
			returnAtOnce: true,
			wantRan:      true,
			wantHolder:   "<none>",
		},
		{
			name:         "work returning steps down",
			opts:         stableOptions(),
			returnAtOnce: true,
			wantRan:      true,
			wantHolder:   "",
		},
		{
			name:            "cancelled while waiting for the lease",
			opts:            stableOptions(),
			heldBy:          "other",
			cancelAfterGets: 2,
			wantRan:         false,
			wantHolder:      "other",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newAPIServer()
			if tt.heldBy != "" {
				s.createLease(t, tt.opts, tt.heldBy)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var (
				mu  sync.Mutex
				ran bool
			)
			errc := start(ctx, s, tt.opts, "me", func(ctx context.Context) {
				mu.Lock()
				ran = true
				mu.Unlock()
				if !tt.returnAtOnce {
					<-ctx.Done()
				}
			})
			if tt.cancelAfterGets > 0 {
				s.waitFor(func() bool { return s.count("me", "get") >= tt.cancelAfterGets })
				cancel()
			}
			if err := <-errc; err != nil {
				t.Fatalf("Run returned %v, want nil", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if ran != tt.wantRan {
				t.Errorf("run called = %v, want %v", ran, tt.wantRan)
			}
			if got := s.holder(tt.opts); got != tt.wantHolder {
				t.Errorf("lease holder = %q, want %q", got, tt.wantHolder)
			}
		})
	}
}

func TestRunRejectsInvalidOptions(t *testing.T) {
	tests := []struct {
		name     string
		mutate   func(*Options)
		identity string
		wantErr  string
	}{
		{name: "renew deadline not below lease duration", mutate: func(o *Options) { o.RenewDeadline = o.LeaseDuration }, identity: "me", wantErr: "lease-duration"},
		{name: "retry period too long", mutate: func(o *Options) { o.RetryPeriod = o.RenewDeadline }, identity: "me", wantErr: "renew-deadline"},
		{name: "zero retry period", mutate: func(o *Options) { o.RetryPeriod = 0 }, identity: "me", wantErr: "retry-period must be positive"},
		{name: "no lease name", mutate: func(o *Options) { o.ResourceName = "" }, identity: "me", wantErr: "resource-name is empty"},
		{name: "no namespace", mutate: func(o *Options) { o.ResourceNamespace = "" }, identity: "me", wantErr: "resource-namespace is empty"},
		{name: "endpoints lock", mutate: func(o *Options) { o.ResourceLock = "endpointsleases" }, identity: "me", wantErr: `"endpointsleases" is not supported`},
		{name: "no identity", mutate: func(o *Options) {}, identity: "", wantErr: "identity is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newAPIServer()
			opts := NewOptions("kube-scheduler")
			tt.mutate(&opts)
			ran := false
			err := Run(context.Background(), s.client("me"), opts, tt.identity, func(context.Context) { ran = true })
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Run error = %v, want one containing %q", err, tt.wantErr)
			}
			if ran {
				t.Error("run was called despite invalid options")
			}
			if n := s.count("me", "get") + s.count("me", "create"); n != 0 {
				t.Errorf("made %d lease requests despite invalid options", n)
			}
		})
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want Options
	}{
		{
			name: "upstream defaults",
			want: Options{
				LeaderElect: true, LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second,
				ResourceLock: "leases", ResourceNamespace: "kube-system", ResourceName: "kube-scheduler",
			},
		},
		{
			name: "upstream command line",
			args: []string{
				"--leader-elect=false", "--leader-elect-lease-duration=60s", "--leader-elect-renew-deadline=40s",
				"--leader-elect-retry-period=5s", "--leader-elect-resource-lock=leases",
				"--leader-elect-resource-namespace=navarch-system", "--leader-elect-resource-name=sched-2",
			},
			want: Options{
				LeaderElect: false, LeaseDuration: time.Minute, RenewDeadline: 40 * time.Second, RetryPeriod: 5 * time.Second,
				ResourceLock: "leases", ResourceNamespace: "navarch-system", ResourceName: "sched-2",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := NewOptions("kube-scheduler")
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			opts.AddFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if opts != tt.want {
				t.Errorf("options = %+v, want %+v", opts, tt.want)
			}
			if err := opts.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestIdentityIsUnique(t *testing.T) {
	a, err := Identity()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Identity()
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Errorf("two identities are equal: %q", a)
	}
}
