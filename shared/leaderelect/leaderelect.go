// Package leaderelect runs a function only while this process holds a
// coordination.k8s.io/v1 Lease, so that of several replicas of a daemon
// exactly one acts at a time. It wraps client-go's leaderelection with
// upstream's --leader-elect flags.
package leaderelect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// ErrLeadershipLost is returned by Run when the lease could not be renewed
// before the renew deadline while ctx was still live. Upstream daemons exit
// when this happens; a Navarch daemon returns it from Run and exits non-zero
// so its supervisor restarts it as a candidate.
var ErrLeadershipLost = errors.New("leaderelect: leadership lost")

// LeasesResourceLock is the only lock kind supported, and the default of
// --leader-elect-resource-lock.
const LeasesResourceLock = "leases"

// Options configure leader election; the fields mirror upstream's flags.
type Options struct {
	// LeaderElect (--leader-elect) enables leader election. When false, Run
	// runs its function at once, without a lease.
	LeaderElect bool
	// LeaseDuration (--leader-elect-lease-duration) is how long candidates
	// wait after the last observed renewal before taking the lease over.
	LeaseDuration time.Duration
	// RenewDeadline (--leader-elect-renew-deadline) is how long the leader
	// keeps retrying a renewal before it gives up leading. It must be
	// shorter than LeaseDuration.
	RenewDeadline time.Duration
	// RetryPeriod (--leader-elect-retry-period) is the wait between attempts
	// to acquire or renew. RenewDeadline must exceed 1.2 × RetryPeriod.
	RetryPeriod time.Duration
	// ResourceLock (--leader-elect-resource-lock) must be "leases"; it is
	// accepted so upstream command lines keep working.
	ResourceLock string
	// ResourceNamespace (--leader-elect-resource-namespace) and
	// ResourceName (--leader-elect-resource-name) name the Lease.
	ResourceNamespace string
	ResourceName      string
}

// NewOptions returns upstream's defaults: enabled, 15s lease, 10s renew
// deadline, 2s retry period, a Lease named resourceName in kube-system.
// Daemons pass their upstream lease name, e.g. "kube-scheduler".
func NewOptions(resourceName string) Options {
	return Options{
		LeaderElect:       true,
		LeaseDuration:     15 * time.Second,
		RenewDeadline:     10 * time.Second,
		RetryPeriod:       2 * time.Second,
		ResourceLock:      LeasesResourceLock,
		ResourceNamespace: "kube-system",
		ResourceName:      resourceName,
	}
}

// AddFlags registers the --leader-elect* flags on fs, with o's current
// values as defaults (start from NewOptions).
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect,
		"Start a leader election client and gain leadership before executing the main loop. Enable this when running replicated components for high availability.")
	fs.DurationVar(&o.LeaseDuration, "leader-elect-lease-duration", o.LeaseDuration,
		"The duration that non-leader candidates will wait after observing a leadership renewal until attempting to acquire leadership of a led but unrenewed leader slot.")
	fs.DurationVar(&o.RenewDeadline, "leader-elect-renew-deadline", o.RenewDeadline,
		"The interval between attempts by the acting master to renew a leadership slot before it stops leading. This must be less than the lease duration.")
	fs.DurationVar(&o.RetryPeriod, "leader-elect-retry-period", o.RetryPeriod,
		"The duration the clients should wait between attempting acquisition and renewal of a leadership.")
	fs.StringVar(&o.ResourceLock, "leader-elect-resource-lock", o.ResourceLock,
		`The type of resource object that is used for locking during leader election. Only "leases" is supported.`)
	fs.StringVar(&o.ResourceNamespace, "leader-elect-resource-namespace", o.ResourceNamespace,
		"The namespace of resource object that is used for locking during leader election.")
	fs.StringVar(&o.ResourceName, "leader-elect-resource-name", o.ResourceName,
		"The name of resource object that is used for locking during leader election.")
}

// Validate reports options Run would reject. Options with LeaderElect false
// are always valid.
func (o Options) Validate() error {
	if !o.LeaderElect {
		return nil
	}
	var errs []error
	if o.ResourceLock != "" && o.ResourceLock != LeasesResourceLock {
		errs = append(errs, fmt.Errorf("--leader-elect-resource-lock %q is not supported, only %q", o.ResourceLock, LeasesResourceLock))
	}
	if o.ResourceNamespace == "" {
		errs = append(errs, errors.New("--leader-elect-resource-namespace is empty"))
	}
	if o.ResourceName == "" {
		errs = append(errs, errors.New("--leader-elect-resource-name is empty"))
	}
	if o.RetryPeriod <= 0 {
		errs = append(errs, errors.New("--leader-elect-retry-period must be positive"))
	}
	if o.RenewDeadline <= time.Duration(leaderelection.JitterFactor*float64(o.RetryPeriod)) {
		errs = append(errs, fmt.Errorf("--leader-elect-renew-deadline (%v) must exceed %v × --leader-elect-retry-period (%v)",
			o.RenewDeadline, leaderelection.JitterFactor, o.RetryPeriod))
	}
	if o.LeaseDuration <= o.RenewDeadline {
		errs = append(errs, fmt.Errorf("--leader-elect-lease-duration (%v) must exceed --leader-elect-renew-deadline (%v)",
			o.LeaseDuration, o.RenewDeadline))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("leaderelect: %w", err)
	}
	return nil
}

// Identity returns a candidate identity unique to this process, in
// upstream's form "<hostname>_<uuid>".
func Identity() (string, error) {
	host, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("leaderelect: identity: %w", err)
	}
	return host + "_" + string(uuid.NewUUID()), nil
}

// Run campaigns for the Lease named by opts under identity and calls run
// once this candidate leads, with a context that is cancelled when ctx ends
// or leadership is lost. run must return promptly once its context is done.
//
// Run returns after run has returned:
//   - nil when ctx ended (before or while leading); a leader then releases
//     the lease, only after run has returned, so another candidate can take
//     over at once without overlapping with it;
//   - nil when run returned on its own while leading (the lease is released);
//   - ErrLeadershipLost when the lease could not be renewed in time.
//
// With opts.LeaderElect false, Run calls run(ctx) directly and returns nil.
// Invalid options are reported before campaigning.
func Run(ctx context.Context, client kubernetes.Interface, opts Options, identity string, run func(ctx context.Context)) error {
	if !opts.LeaderElect {
		run(ctx)
		return nil
	}
	if err := opts.Validate(); err != nil {
		return err
	}
	if identity == "" {
		return errors.New("leaderelect: identity is empty")
	}
	lease := opts.ResourceNamespace + "/" + opts.ResourceName

	// The elector runs on its own context so that, when ctx ends, the lease
	// is released only after run has returned: releasing first would let the
	// next leader start while this one still acts.
	electCtx, stopElecting := context.WithCancel(context.WithoutCancel(ctx))
	defer stopElecting()

	var (
		mu            sync.Mutex
		stopping      bool          // no new run may start
		runDone       chan struct{} // closed when run returns; nil if run never started
		returnedEarly bool          // run returned while still leading
	)
	// stopRun prevents run from starting and waits for a started run.
	stopRun := func() {
		mu.Lock()
		stopping = true
		done := runDone
		mu.Unlock()
		if done != nil {
			<-done
		}
	}

	elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: &resourcelock.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Namespace: opts.ResourceNamespace, Name: opts.ResourceName},
			Client:     client.CoordinationV1(),
			LockConfig: resourcelock.ResourceLockConfig{Identity: identity},
		},
		LeaseDuration:   opts.LeaseDuration,
		RenewDeadline:   opts.RenewDeadline,
		RetryPeriod:     opts.RetryPeriod,
		ReleaseOnCancel: true,
		Name:            opts.ResourceName,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(leadCtx context.Context) {
				mu.Lock()
				if stopping {
					mu.Unlock()
					return
				}
				done := make(chan struct{})
				runDone = done
				mu.Unlock()
				defer close(done)

				runCtx, cancel := context.WithCancel(leadCtx)
				defer cancel()
				defer context.AfterFunc(ctx, cancel)()
				slog.Info("Started leading", "lease", lease, "identity", identity)
				run(runCtx)
				if leadCtx.Err() == nil && ctx.Err() == nil {
					mu.Lock()
					returnedEarly = true
					mu.Unlock()
					slog.Info("Stepping down: the leader's work returned", "lease", lease, "identity", identity)
				}
				stopElecting()
			},
			OnStoppedLeading: func() {},
			OnNewLeader: func(leader string) {
				if leader != identity {
					slog.Info("Another candidate leads", "lease", lease, "leader", leader)
				}
			},
		},
	})
	if err != nil {
		return fmt.Errorf("leaderelect: %w", err)
	}

	go func() {
		select {
		case <-ctx.Done():
			stopRun()
			stopElecting()
		case <-electCtx.Done():
		}
	}()

	elector.Run(electCtx)
	stopRun()

	mu.Lock()
	early := returnedEarly
	mu.Unlock()
	if ctx.Err() != nil || early {
		return nil
	}
	return ErrLeadershipLost
}
