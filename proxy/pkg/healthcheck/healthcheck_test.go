package healthcheck

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestHealthz(t *testing.T) {
	base := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name     string
		steps    func(h *ProxyHealth, now *time.Time)
		wantCode int
	}{
		{name: "fresh", steps: func(h *ProxyHealth, now *time.Time) {}, wantCode: 200},
		{name: "update pending but recent", steps: func(h *ProxyHealth, now *time.Time) {
			h.QueuedUpdate()
			*now = now.Add(30 * time.Second)
		}, wantCode: 200},
		{name: "update pending too long", steps: func(h *ProxyHealth, now *time.Time) {
			h.QueuedUpdate()
			*now = now.Add(61 * time.Second)
		}, wantCode: 503},
		{name: "synced after a long wait", steps: func(h *ProxyHealth, now *time.Time) {
			h.QueuedUpdate()
			*now = now.Add(61 * time.Second)
			h.Updated()
		}, wantCode: 200},
		{name: "idle for long is healthy", steps: func(h *ProxyHealth, now *time.Time) {
			h.Updated()
			*now = now.Add(time.Hour)
		}, wantCode: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := base
			h := New(60 * time.Second)
			h.now = func() time.Time { return now }
			tt.steps(h, &now)
			rec := httptest.NewRecorder()
			h.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
			if rec.Code != tt.wantCode {
				t.Errorf("code %d, want %d", rec.Code, tt.wantCode)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("content type %q", ct)
			}
			var b map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			for _, k := range []string{"lastUpdated", "currentTime", "nodeEligible"} {
				if _, ok := b[k]; !ok {
					t.Errorf("body %s lacks %q", rec.Body, k)
				}
			}
		})
	}
}
