package ready

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type fakeReady bool

func (f fakeReady) Ready() bool { return bool(f) }

func TestReady(t *testing.T) {
	tests := []struct {
		name     string
		plugins  map[string]bool
		want     int
		wantBody string
	}{
		{name: "nothing to wait for", want: http.StatusOK, wantBody: "OK"},
		{name: "all ready", plugins: map[string]bool{"kubernetes": true}, want: http.StatusOK, wantBody: "OK"},
		{name: "one unready", plugins: map[string]bool{"kubernetes": false, "other": true}, want: http.StatusServiceUnavailable, wantBody: "kubernetes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Ready{}
			for n, ok := range tt.plugins {
				r.Add(n, fakeReady(ok))
			}
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, httptest.NewRequest("GET", "/ready", nil))
			if rec.Code != tt.want || !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Errorf("got %d %q, want %d %q", rec.Code, rec.Body.String(), tt.want, tt.wantBody)
			}
		})
	}
}
