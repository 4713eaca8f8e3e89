package decisions

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	s := NewStore(2)
	s.Record(&Decision{Namespace: "ns", Pod: "a", Result: Scheduled, Node: "n1", Message: "Successfully assigned ns/a to n1",
		ScorePlugins: []string{"NodeResourcesFit"},
		Nodes: []NodeVerdict{
			{Node: "n1", Passed: true, Scored: true, Scores: []int64{90}, Total: 90},
			{Node: "n2", Plugin: "TaintToleration", Reasons: []string{"node(s) had untolerated taint {k: v}"}},
		}})
	s.Record(&Decision{Namespace: "ns", Pod: "b"})
	s.Record(&Decision{Namespace: "ns", Pod: "c"}) // capacity 2: a is forgotten
	tests := []struct {
		name     string
		path     string
		code     int
		contains []string
	}{
		{name: "evicted oldest", path: "/debug/decisions/ns/a", code: http.StatusNotFound},
		{name: "json", path: "/debug/decisions/ns/b", code: http.StatusOK, contains: []string{`"pod": "b"`}},
		{name: "bad path", path: "/debug/decisions/ns", code: http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", tt.path, nil))
			if rec.Code != tt.code {
				t.Fatalf("code = %d, want %d: %s", rec.Code, tt.code, rec.Body)
			}
			for _, c := range tt.contains {
				if !strings.Contains(rec.Body.String(), c) {
					t.Errorf("body lacks %q:\n%s", c, rec.Body)
				}
			}
		})
	}
}

func TestTable(t *testing.T) {
	s := NewStore(0)
	s.Record(&Decision{Namespace: "ns", Pod: "a", Result: Scheduled, Node: "n1",
		ScorePlugins: []string{"NodeResourcesFit"},
		Nodes: []NodeVerdict{
			{Node: "n2", Plugin: "TaintToleration", Reasons: []string{"node(s) had untolerated taint {k: v}"}},
			{Node: "n1", Passed: true, Scored: true, Scores: []int64{90}, Total: 90},
		}})
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/debug/decisions/ns/a?format=table", nil))
	out := rec.Body.String()
	n1, n2 := strings.Index(out, "n1  "), strings.Index(out, "n2  ")
	if !strings.Contains(out, "NODERESOURCESFIT") || n1 < 0 || n2 < 0 || n1 > n2 ||
		!strings.Contains(out, "TaintToleration: node(s) had untolerated taint {k: v}") {
		t.Errorf("table:\n%s", out)
	}
}

// TestForgetFreesRoom: a forgotten pod's slot goes to the next one; a pod
// recorded again after being forgotten is kept.
func TestForgetFreesRoom(t *testing.T) {
	s := NewStore(2)
	s.Record(&Decision{Namespace: "ns", Pod: "a"})
	s.Record(&Decision{Namespace: "ns", Pod: "b"})
	s.Forget("ns", "a")
	s.Record(&Decision{Namespace: "ns", Pod: "a"})
	for pod, want := range map[string]bool{"a": true, "b": true} {
		if got := s.Get("ns", pod) != nil; got != want {
			t.Errorf("decision of %s kept = %v, want %v", pod, got, want)
		}
	}
	s.Record(&Decision{Namespace: "ns", Pod: "c"}) // evicts b, the oldest
	for pod, want := range map[string]bool{"a": true, "b": false, "c": true} {
		if got := s.Get("ns", pod) != nil; got != want {
			t.Errorf("after c: decision of %s kept = %v, want %v", pod, got, want)
		}
	}
}
