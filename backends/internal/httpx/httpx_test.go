package httpx

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// script answers each request with the next status of statuses; the last
// one repeats.
func script(t *testing.T, statuses ...int) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		st := statuses[min(i, len(statuses)-1)]
		if st == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "0")
		}
		w.WriteHeader(st)
		body, _ := io.ReadAll(r.Body)
		_, _ = w.Write([]byte("answer " + string(body)))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func fast(backend string) Options {
	return Options{Backend: backend, MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond}
}

func TestDo(t *testing.T) {
	tests := []struct {
		name       string
		statuses   []int
		idempotent bool
		wantTries  int32
		wantStatus int // 0: success
		wantAuth   bool
	}{
		{"ok at once", []int{200}, true, 1, 0, false},
		{"503 then ok", []int{503, 503, 200}, false, 3, 0, false},
		{"429 then ok", []int{429, 200}, false, 2, 0, false},
		{"500 retried when idempotent", []int{500, 200}, true, 2, 0, false},
		{"500 not retried when not idempotent", []int{500, 200}, false, 1, 500, false},
		{"404 is final", []int{404}, true, 1, 404, false},
		{"401 is an auth error", []int{401}, true, 1, 401, true},
		{"gives up after retries", []int{502}, true, 5, 502, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, n := script(t, tt.statuses...)
			c := New(fast("plex-home"))
			resp, err := c.Do(t.Context(), Request{Method: http.MethodPut, URL: srv.URL + "/x?X-Plex-Token=sekrit", Body: []byte("b"), Idempotent: tt.idempotent})
			if got := n.Load(); got != tt.wantTries {
				t.Errorf("attempts = %d, want %d", got, tt.wantTries)
			}
			if tt.wantStatus == 0 {
				if err != nil {
					t.Fatalf("Do: %v", err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(body) != "answer b" {
					t.Errorf("body = %q: the request body was not replayed", body)
				}
				return
			}
			if !IsStatus(err, tt.wantStatus) {
				t.Fatalf("err = %v, want status %d", err, tt.wantStatus)
			}
			var ae *AuthError
			if errors.As(err, &ae) != tt.wantAuth {
				t.Errorf("AuthError = %v, want %v (err %v)", !tt.wantAuth, tt.wantAuth, err)
			}
			if tt.wantAuth && !strings.Contains(err.Error(), "plex-home") {
				t.Errorf("auth error %q does not name the backend", err)
			}
			if strings.Contains(err.Error(), "sekrit") {
				t.Errorf("error %q leaks the token", err)
			}
		})
	}
}

func TestTransportErrorRedactsAndRetriesIdempotent(t *testing.T) {
	srv, _ := script(t, 200)
	srv.Close() // connection refused from now on
	c := New(fast("jelly"))
	_, err := c.Do(t.Context(), Request{Method: http.MethodGet, URL: srv.URL + "/Items?api_key=sekrit", Idempotent: true})
	if err == nil {
		t.Fatal("Do on a closed server succeeded")
	}
	if strings.Contains(err.Error(), "sekrit") {
		t.Errorf("error %q leaks the api key", err)
	}
}

func TestCancelStopsRetrying(t *testing.T) {
	srv, n := script(t, 503)
	c := New(Options{MinBackoff: time.Hour, MaxBackoff: time.Hour})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Do(ctx, Request{Method: http.MethodGet, URL: srv.URL, Idempotent: true})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if n.Load() != 1 {
		t.Errorf("attempts = %d, want 1", n.Load())
	}
}

func TestConcurrencyIsBounded(t *testing.T) {
	var inFlight, peak atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cur := inFlight.Add(1)
		for {
			p := peak.Load()
			if cur <= p || peak.CompareAndSwap(p, cur) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		inFlight.Add(-1)
	}))
	defer srv.Close()
	c := New(Options{Concurrency: 2})
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			resp, err := c.Do(t.Context(), Request{Method: http.MethodGet, URL: srv.URL})
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		})
	}
	wg.Wait()
	if p := peak.Load(); p > 2 {
		t.Errorf("peak in flight = %d, want ≤ 2", p)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"http://h/x?X-Plex-Token=abc&a=1":  "http://h/x?X-Plex-Token=redacted&a=1",
		"http://h/api/v2?apikey=k&cmd=get": "http://h/api/v2?apikey=redacted&cmd=get",
		"http://u:p@h/x":                   "http://redacted@h/x",
		"http://h/plain":                   "http://h/plain",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
