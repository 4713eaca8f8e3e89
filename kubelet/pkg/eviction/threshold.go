package eviction

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Signal names what a threshold watches, with upstream's names.
type Signal string

// The signals Navarch observes.
const (
	SignalMemoryAvailable   Signal = "memory.available"
	SignalNodeFsAvailable   Signal = "nodefs.available"
	SignalNodeFsInodesFree  Signal = "nodefs.inodesFree"
	SignalImageFsAvailable  Signal = "imagefs.available"
	SignalImageFsInodesFree Signal = "imagefs.inodesFree"
	// SignalPIDAvailable is the node's process IDs left: the smaller of
	// kernel.pid_max and kernel.threads-max less the tasks that exist.
	SignalPIDAvailable Signal = "pid.available"
)

var signals = map[Signal]bool{
	SignalMemoryAvailable: true, SignalNodeFsAvailable: true, SignalNodeFsInodesFree: true,
	SignalImageFsAvailable: true, SignalImageFsInodesFree: true, SignalPIDAvailable: true,
}

// Threshold is met when its signal's available amount falls below Value,
// or below Percentage of the signal's capacity when Value is nil.
type Threshold struct {
	Signal     Signal
	Value      *resource.Quantity
	Percentage float64 // 0 < p ≤ 1
	// GracePeriod is how long a soft threshold must stay met before pods
	// are evicted for it; zero for hard thresholds.
	GracePeriod time.Duration
	Soft        bool
}

// String is the threshold as a flag would write it.
func (t Threshold) String() string {
	if t.Value != nil {
		return fmt.Sprintf("%s<%s", t.Signal, t.Value.String())
	}
	return fmt.Sprintf("%s<%s%%", t.Signal, strconv.FormatFloat(t.Percentage*100, 'f', -1, 64))
}

// quantity is the threshold's amount for a signal of capacity.
func (t Threshold) quantity(capacity resource.Quantity) resource.Quantity {
	if t.Value != nil {
		return t.Value.DeepCopy()
	}
	return *resource.NewQuantity(int64(float64(capacity.Value())*t.Percentage), resource.BinarySI)
}

// DefaultHard is upstream's --eviction-hard default on Linux. Like
// upstream's, it has no pid.available threshold: PID pressure is only
// watched where an operator sets one.
const DefaultHard = "memory.available<100Mi,nodefs.available<10%,nodefs.inodesFree<5%,imagefs.available<15%,imagefs.inodesFree<5%"

// ParseThresholds reads a --eviction-hard or --eviction-soft value:
// comma-separated signal<quantity or signal<percent% items. For soft
// thresholds every signal needs a grace period in grace (from
// --eviction-soft-grace-period).
func ParseThresholds(spec string, soft bool, grace map[Signal]time.Duration) ([]Threshold, error) {
	var out []Threshold
	seen := map[Signal]bool{}
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, value, ok := strings.Cut(item, "<")
		if !ok {
			return nil, fmt.Errorf("eviction threshold %q: want signal<quantity or signal<percent%%", item)
		}
		sig := Signal(strings.TrimSpace(name))
		if !signals[sig] {
			return nil, fmt.Errorf("eviction threshold %q: unknown signal %q", item, sig)
		}
		if seen[sig] {
			return nil, fmt.Errorf("eviction threshold %q: signal %s given twice", item, sig)
		}
		seen[sig] = true
		t := Threshold{Signal: sig, Soft: soft}
		value = strings.TrimSpace(value)
		if p, ok := strings.CutSuffix(value, "%"); ok {
			f, err := strconv.ParseFloat(p, 64)
			if err != nil || f <= 0 || f > 100 {
				return nil, fmt.Errorf("eviction threshold %q: percentage must be in (0, 100]", item)
			}
			t.Percentage = f / 100
		} else {
			q, err := resource.ParseQuantity(value)
			if err != nil {
				return nil, fmt.Errorf("eviction threshold %q: %w", item, err)
			}
			if q.Sign() < 0 {
				return nil, fmt.Errorf("eviction threshold %q: quantity must not be negative", item)
			}
			t.Value = &q
		}
		if soft {
			g, ok := grace[sig]
			if !ok {
				return nil, fmt.Errorf("eviction soft threshold %q: no grace period (--eviction-soft-grace-period %s=...)", item, sig)
			}
			t.GracePeriod = g
		}
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Signal < out[j].Signal })
	return out, nil
}

// ParseGracePeriods reads --eviction-soft-grace-period: comma-separated
// signal=duration items.
func ParseGracePeriods(spec string) (map[Signal]time.Duration, error) {
	out := map[Signal]time.Duration{}
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, value, ok := strings.Cut(item, "=")
		if !ok {
			return nil, fmt.Errorf("eviction grace period %q: want signal=duration", item)
		}
		sig := Signal(strings.TrimSpace(name))
		if !signals[sig] {
			return nil, fmt.Errorf("eviction grace period %q: unknown signal %q", item, sig)
		}
		d, err := time.ParseDuration(strings.TrimSpace(value))
		if err != nil || d < 0 {
			return nil, fmt.Errorf("eviction grace period %q: want a non-negative duration", item)
		}
		out[sig] = d
	}
	return out, nil
}
