package fakeservertest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Call is one HTTP request against a fake; auth is a complete header line "Name: value",
// or "query:name=value" to authenticate in the query string, or "" for none.
func Call(t *testing.T, ts *httptest.Server, method, path, auth string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = strings.NewReader(b)
		default:
			raw, err := json.Marshal(b)
			if err != nil {
				t.Fatal(err)
			}
			rd = bytes.NewReader(raw)
		}
	}
	url := ts.URL + path
	if q, ok := strings.CutPrefix(auth, "query:"); ok {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		url += sep + q
		auth = ""
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		name, value, _ := strings.Cut(auth, ": ")
		req.Header.Set(name, value)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// GetJSON calls and decodes, failing the test on a non-200 answer.
func GetJSON(t *testing.T, ts *httptest.Server, path, auth string, out any) {
	t.Helper()
	status, b := Call(t, ts, "GET", path, auth, nil)
	if status != http.StatusOK {
		t.Fatalf("GET %s: status %d, body %s", path, status, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("GET %s: decode: %v\n%s", path, err, b)
	}
}

// QueryResult is the Jellyfin/Emby list envelope.
type QueryResult struct {
	Items            []map[string]any
	TotalRecordCount int
	StartIndex       *int
}

// Sink is a webhook receiver on loopback that records every request.
type Sink struct {
	URL string
	got chan Hook
}

// Hook is one webhook request as the sink received it.
type Hook struct {
	Header http.Header
	Body   []byte
}

// NewSink starts a sink, closed when the test ends.
func NewSink(t *testing.T) *Sink {
	s := &Sink{got: make(chan Hook, 256)}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.got <- Hook{Header: r.Header.Clone(), Body: b}
	}))
	t.Cleanup(ts.Close)
	s.URL = ts.URL
	return s
}

// Flusher is a fake that queues webhooks and can send them all now.
type Flusher interface {
	FlushWebhooks(ctx context.Context) error
}

// Drain flushes the fake's queue and returns everything the sink received.
func (s *Sink) Drain(t *testing.T, srv Flusher) []Hook {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.FlushWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	var out []Hook
	for {
		select {
		case h := <-s.got:
			out = append(out, h)
		default:
			return out
		}
	}
}

// DecodeHook decodes a JSON webhook body, failing the test otherwise.
func DecodeHook(t *testing.T, h Hook) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(h.Body, &m); err != nil {
		t.Fatalf("webhook body is not JSON: %v\n%s", err, h.Body)
	}
	return m
}

// Clock is a settable clock for deterministic dates (read by the fake's handlers and
// its webhook goroutine, hence the lock).
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
