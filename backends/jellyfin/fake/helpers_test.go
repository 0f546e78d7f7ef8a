package fake

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

// call is one HTTP request against a fake; auth is a complete header line "Name: value",
// or "query:name=value" to authenticate in the query string, or "" for none.
func call(t *testing.T, ts *httptest.Server, method, path, auth string, body any) (int, []byte) {
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

func tokenAuth(token string) string { return `Authorization: MediaBrowser Token="` + token + `"` }

// getJSON calls and decodes, failing the test on a non-200 answer.
func getJSON(t *testing.T, ts *httptest.Server, path, auth string, out any) {
	t.Helper()
	status, b := call(t, ts, "GET", path, auth, nil)
	if status != http.StatusOK {
		t.Fatalf("GET %s: status %d, body %s", path, status, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("GET %s: decode: %v\n%s", path, err, b)
	}
}

type queryResult struct {
	Items            []map[string]any
	TotalRecordCount int
	StartIndex       *int
}

// webhookSink records webhook requests.
type webhookSink struct {
	ts  *httptest.Server
	got chan capturedHook
}

type capturedHook struct {
	header http.Header
	body   []byte
}

func newSink(t *testing.T) *webhookSink {
	s := &webhookSink{got: make(chan capturedHook, 256)}
	s.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.got <- capturedHook{header: r.Header.Clone(), body: b}
	}))
	t.Cleanup(s.ts.Close)
	return s
}

// drain flushes the fake's queue and returns everything the sink received.
func (s *webhookSink) drain(t *testing.T, srv *Server) []capturedHook {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.FlushWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	var out []capturedHook
	for {
		select {
		case h := <-s.got:
			out = append(out, h)
		default:
			return out
		}
	}
}

func decodeHook(t *testing.T, h capturedHook) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(h.body, &m); err != nil {
		t.Fatalf("webhook body is not JSON: %v\n%s", err, h.body)
	}
	return m
}

// fixedClock is a settable clock for deterministic dates (read by the fake's handlers and
// its webhook goroutine, hence the lock).
type fixedClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *fixedClock { return &fixedClock{t: t} }

func (c *fixedClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fixedClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
