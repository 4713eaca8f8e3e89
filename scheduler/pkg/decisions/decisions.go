// Package decisions keeps the last scheduling decision of each pod — every
// node's filter verdict with its reasons, every score plugin's (weighted)
// score, the winner — and serves it over HTTP at
// /debug/decisions/<namespace>/<pod>, as JSON, or as a text table with
// ?format=table.
package decisions

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"navarch.dev/shared/schedulingdecision"
)

// The wire types live in navarch.dev/shared/schedulingdecision, shared with navctl.
type (
	Decision    = schedulingdecision.Decision
	NodeVerdict = schedulingdecision.NodeVerdict
)

// Results of a Decision.
const (
	Scheduled     = schedulingdecision.Scheduled
	Unschedulable = schedulingdecision.Unschedulable
	Error         = schedulingdecision.Error
)

// Store keeps the last decision of up to Max pods, forgetting the oldest.
type Store struct {
	mu    sync.Mutex
	max   int
	byKey map[string]*Decision
	order []string
}

// DefaultMax bounds the memory the store uses: a decision holds a row per
// evaluated node.
const DefaultMax = 1000

// NewStore returns a store of up to max pods (DefaultMax if max <= 0).
func NewStore(max int) *Store {
	if max <= 0 {
		max = DefaultMax
	}
	return &Store{max: max, byKey: map[string]*Decision{}}
}

// Record keeps d as its pod's last decision.
func (s *Store) Record(d *Decision) {
	key := d.Namespace + "/" + d.Pod
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byKey[key]; !ok {
		s.order = append(s.order, key)
		for len(s.order) > s.max {
			delete(s.byKey, s.order[0])
			s.order = s.order[1:]
		}
	}
	s.byKey[key] = d
}

// Get returns the last decision of a pod, or nil.
func (s *Store) Get(namespace, pod string) *Decision {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byKey[namespace+"/"+pod]
}

// Forget drops a pod's decision (the pod was deleted).
func (s *Store) Forget(namespace, pod string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := namespace + "/" + pod
	if _, ok := s.byKey[key]; !ok {
		return
	}
	delete(s.byKey, key)
	for i, k := range s.order {
		if k == key {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
}

// Prefix is where Handler is mounted.
const Prefix = "/debug/decisions/"

// Handler serves GET /debug/decisions/<namespace>/<pod>.
func (s *Store) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, Prefix), "/")
		if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
			http.Error(w, "want "+Prefix+"<namespace>/<pod>", http.StatusBadRequest)
			return
		}
		d := s.Get(parts[0], parts[1])
		if d == nil {
			http.Error(w, fmt.Sprintf("no scheduling decision recorded for pod %s/%s", parts[0], parts[1]), http.StatusNotFound)
			return
		}
		if r.URL.Query().Get("format") == "table" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			WriteTable(w, d)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(d)
	})
}

// WriteTable prints d as a summary and one row per node, best first.
func WriteTable(w interface{ Write([]byte) (int, error) }, d *Decision) {
	fmt.Fprintf(w, "Pod:       %s/%s\nScheduler: %s\nTime:      %s\nAttempt:   %d\nResult:    %s\n", d.Namespace, d.Pod, d.SchedulerName, d.Time.Format(time.RFC3339), d.Attempt, d.Result)
	if d.Node != "" {
		fmt.Fprintf(w, "Node:      %s\n", d.Node)
	}
	if d.NominatedNode != "" {
		fmt.Fprintf(w, "Nominated: %s\n", d.NominatedNode)
	}
	fmt.Fprintf(w, "Message:   %s\nNodes:     %d total, %d evaluated, %d feasible\n\n", d.Message, d.NumNodes, d.Evaluated, d.Feasible)
	rows := append([]NodeVerdict(nil), d.Nodes...)
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].Passed != rows[j].Passed {
			return rows[i].Passed
		}
		if rows[i].Total != rows[j].Total {
			return rows[i].Total > rows[j].Total
		}
		return rows[i].Node < rows[j].Node
	})
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	header := []string{"NODE", "FILTER"}
	for _, p := range d.ScorePlugins {
		header = append(header, strings.ToUpper(p))
	}
	header = append(header, "TOTAL")
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, n := range rows {
		cols := []string{n.Node}
		if n.Passed {
			cols = append(cols, "passed")
		} else {
			cols = append(cols, n.Plugin+": "+strings.Join(n.Reasons, ", "))
		}
		for i := range d.ScorePlugins {
			if n.Scored && i < len(n.Scores) {
				cols = append(cols, fmt.Sprint(n.Scores[i]))
			} else {
				cols = append(cols, "-")
			}
		}
		if n.Scored {
			cols = append(cols, fmt.Sprint(n.Total))
		} else {
			cols = append(cols, "-")
		}
		fmt.Fprintln(tw, strings.Join(cols, "\t"))
	}
	tw.Flush()
}
