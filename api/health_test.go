package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestReady(t *testing.T) {
	ok := func(context.Context) error { return nil }
	tests := []struct {
		name       string
		checks     []namedCheck
		wantStatus int
		want       Readiness
	}{
		{
			name:       "no checks",
			wantStatus: http.StatusOK,
			want:       Readiness{Status: "ok", Checks: []CheckResult{}},
		},
		{
			name:       "all pass",
			checks:     []namedCheck{{"store", ok}, {"plugins", ok}},
			wantStatus: http.StatusOK,
			want: Readiness{Status: "ok", Checks: []CheckResult{
				{Name: "store", Status: "ok"}, {Name: "plugins", Status: "ok"},
			}},
		},
		{
			name: "one fails",
			checks: []namedCheck{
				{"store", func(context.Context) error { return errors.New("store: meta bucket missing") }},
				{"plugins", ok},
			},
			wantStatus: http.StatusServiceUnavailable,
			want: Readiness{Status: "unavailable", Failing: []string{"store"}, Checks: []CheckResult{
				{Name: "store", Status: "fail", Error: "store: meta bucket missing"},
				{Name: "plugins", Status: "ok"},
			}},
		},
		{
			name: "a check that waits past its deadline fails",
			checks: []namedCheck{{"slow", func(ctx context.Context) error {
				<-ctx.Done()
				return ctx.Err()
			}}},
			wantStatus: http.StatusServiceUnavailable,
			want: Readiness{Status: "unavailable", Failing: []string{"slow"}, Checks: []CheckResult{
				{Name: "slow", Status: "fail", Error: "no answer within 20ms: context deadline exceeded"},
			}},
		},
		{
			name: "a check that ignores its context still answers",
			checks: []namedCheck{{"stuck", func(ctx context.Context) error {
				select {} // never returns
			}}},
			wantStatus: http.StatusServiceUnavailable,
			want: Readiness{Status: "unavailable", Failing: []string{"stuck"}, Checks: []CheckResult{
				{Name: "stuck", Status: "fail", Error: "no answer within 20ms: context deadline exceeded"},
			}},
		},
		{
			name:       "a panicking check fails",
			checks:     []namedCheck{{"broken", func(context.Context) error { panic("boom") }}},
			wantStatus: http.StatusServiceUnavailable,
			want: Readiness{Status: "unavailable", Failing: []string{"broken"}, Checks: []CheckResult{
				{Name: "broken", Status: "fail", Error: "check panicked: boom"},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHealth(20 * time.Millisecond)
			for _, c := range tt.checks {
				h.AddCheck(c.name, c.check)
			}
			rec := httptest.NewRecorder()
			h.Ready().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			var got Readiness
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("body mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLiveAndMethods(t *testing.T) {
	h := NewHealth(0)
	h.AddCheck("store", func(context.Context) error { return errors.New("down") })
	tests := []struct {
		name     string
		handler  http.Handler
		method   string
		wantCode int
		wantBody string
	}{
		{"healthz ignores readiness", h.Live(), http.MethodGet, http.StatusOK, "{\"status\":\"ok\"}\n"},
		{"healthz HEAD has no body", h.Live(), http.MethodHead, http.StatusOK, ""},
		{"readyz HEAD has no body", h.Ready(), http.MethodHead, http.StatusServiceUnavailable, ""},
		{"healthz POST", h.Live(), http.MethodPost, http.StatusMethodNotAllowed, "method not allowed\n"},
		{"readyz DELETE", h.Ready(), http.MethodDelete, http.StatusMethodNotAllowed, "method not allowed\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tt.handler.ServeHTTP(rec, httptest.NewRequest(tt.method, "/", nil))
			if rec.Code != tt.wantCode || rec.Body.String() != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", rec.Code, rec.Body, tt.wantCode, tt.wantBody)
			}
			if tt.wantCode == http.StatusMethodNotAllowed && rec.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow = %q", rec.Header().Get("Allow"))
			}
		})
	}
}

func TestAddCheckRejectsDuplicates(t *testing.T) {
	h := NewHealth(0)
	h.AddCheck("store", func(context.Context) error { return nil })
	defer func() {
		if recover() == nil {
			t.Error("adding a second check named store did not panic")
		}
	}()
	h.AddCheck("store", func(context.Context) error { return nil })
}
