package api

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/rs/zerolog"

	"github.com/keepwatch/keepwatch/core/store"
)

type webhookRig struct {
	st       *store.Store
	srv      *httptest.Server
	received atomic.Int32
	invalid  atomic.Int32
	token    string
}

func newWebhookRig(t testing.TB, maxBytes int64) *webhookRig {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r := &webhookRig{st: st}
	tok, err := RotateToken(st, AllUsers, "plex-home", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r.token = tok.Token
	router := mux.NewRouter()
	NewWebhooks(WebhookOptions{Store: st, MaxBytes: maxBytes, Logger: zerolog.Nop(),
		Received: func() { r.received.Add(1) }, InvalidToken: func() { r.invalid.Add(1) }}).Register(router)
	r.srv = httptest.NewServer(router)
	t.Cleanup(r.srv.Close)
	return r
}

func (r *webhookRig) send(t testing.TB, method, token, contentType string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, r.srv.URL+"/webhook/"+token+"?a=1", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Cookie", "secret=1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// plexMultipart builds a body like Plex sends: the payload JSON part and a
// thumb JPEG file part.
func plexMultipart(t testing.TB, payload string, thumb []byte) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err := mw.WriteField("payload", payload); err != nil {
		t.Fatal(err)
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="thumb"; filename="image.jpg"`)
	h.Set("Content-Type", "image/jpeg")
	pw, err := mw.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = pw.Write(thumb)
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), buf.Bytes()
}

func TestWebhookSameAnswerAndCommitBeforeAck(t *testing.T) {
	r := newWebhookRig(t, 1<<20)
	codeOK, bodyOK := r.send(t, http.MethodPost, r.token, "application/json", []byte(`{"event":"x"}`))
	codeBad, bodyBad := r.send(t, http.MethodPost, "not-a-token", "application/json", []byte(`{"event":"x"}`))
	if codeOK != http.StatusOK || codeOK != codeBad || bodyOK != bodyBad {
		t.Errorf("valid token answered %d %q, invalid %d %q: they must be the same", codeOK, bodyOK, codeBad, bodyBad)
	}
	// The answer came after the commit: the delivery is in the inbox now.
	pending, err := r.st.PendingDeliveries(10)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || pending[0].Backend != "plex-home" || pending[0].User != AllUsers || string(pending[0].Body) != `{"event":"x"}` ||
		pending[0].Query != "a=1" || pending[0].Method != http.MethodPost {
		t.Fatalf("inbox = %+v, want the one valid delivery", pending)
	}
	if pending[0].Header.Get("Cookie") != "" || pending[0].Header.Get("Content-Type") != "application/json" {
		t.Errorf("stored headers = %v: keep Content-Type, drop Cookie", pending[0].Header)
	}
	if r.received.Load() != 1 || r.invalid.Load() != 1 {
		t.Errorf("received=%d invalid=%d, want 1 and 1", r.received.Load(), r.invalid.Load())
	}
	if code, _ := r.send(t, http.MethodGet, r.token, "", nil); code != http.StatusMethodNotAllowed {
		t.Errorf("GET answered %d, want 405", code)
	}
}

func TestWebhookRotationInvalidatesAtOnce(t *testing.T) {
	r := newWebhookRig(t, 1<<20)
	old := r.token
	if _, err := RotateToken(r.st, AllUsers, "plex-home", time.Now()); err != nil {
		t.Fatal(err)
	}
	r.send(t, http.MethodPut, old, "application/json", []byte(`{}`))
	if n, _ := r.st.InboxDepth(); n != 0 || r.invalid.Load() != 1 {
		t.Errorf("old token after rotation: inbox %d, invalid %d; want 0 and 1", n, r.invalid.Load())
	}
}

func TestWebhookBodies(t *testing.T) {
	thumb := bytes.Repeat([]byte{0xff, 0xd8, 0xff}, 4000)
	ct, body := plexMultipart(t, `{"event":"media.scrobble"}`, thumb)
	tests := []struct {
		name          string
		contentType   string
		body          []byte
		wantTruncated bool
		check         func(t *testing.T, d *store.Delivery)
	}{
		{name: "plex thumb part is dropped", contentType: ct, body: body, check: func(t *testing.T, d *store.Delivery) {
			if len(d.Body) >= len(body) || bytes.Contains(d.Body, thumb[:30]) {
				t.Errorf("stored %d bytes of %d: the thumb was kept", len(d.Body), len(body))
			}
			mr := multipart.NewReader(bytes.NewReader(d.Body), strings.TrimPrefix(ct, "multipart/form-data; boundary="))
			p, err := mr.NextPart()
			if err != nil {
				t.Fatalf("stored body is not multipart: %v", err)
			}
			payload, _ := io.ReadAll(p)
			if p.FormName() != "payload" || string(payload) != `{"event":"media.scrobble"}` {
				t.Errorf("payload part = %s %q", p.FormName(), payload)
			}
		}},
		{name: "over the limit is flagged, not stored", contentType: "application/json", body: bytes.Repeat([]byte("x"), 5000), wantTruncated: true,
			check: func(t *testing.T, d *store.Delivery) {
				if len(d.Body) != 0 {
					t.Errorf("stored %d bytes of an oversized body", len(d.Body))
				}
			}},
		{name: "broken multipart is kept whole", contentType: "multipart/form-data; boundary=zzz", body: []byte("--zzz\r\ngarbage"),
			check: func(t *testing.T, d *store.Delivery) {
				if string(d.Body) != "--zzz\r\ngarbage" {
					t.Errorf("body = %q", d.Body)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newWebhookRig(t, 4096)
			if code, _ := r.send(t, http.MethodPost, r.token, tt.contentType, tt.body); code != http.StatusOK {
				t.Fatalf("answered %d", code)
			}
			pending, err := r.st.PendingDeliveries(1)
			if err != nil || len(pending) != 1 {
				t.Fatalf("inbox: %v %v", pending, err)
			}
			if pending[0].Truncated != tt.wantTruncated {
				t.Errorf("Truncated = %v", pending[0].Truncated)
			}
			tt.check(t, pending[0])
		})
	}
}

// BenchmarkWebhookIngest measures acknowledged webhook deliveries per second
// over loopback HTTP with commit-before-ack, from 64 concurrent senders,
// beside the floor of the same run: the store's group commit alone
// (AddDeliveries from 64 goroutines, no HTTP). ratio = ingest rate ÷ floor
// rate; the goal is ≥ 0.5.
func BenchmarkWebhookIngest(b *testing.B) {
	const senders = 64
	body := []byte(`{"event":"media.scrobble","Account":{"id":1,"title":"alice"}}`)
	floor := func(st *store.Store, n int) time.Duration {
		start := time.Now()
		var next atomic.Int64
		done := make(chan struct{})
		for range senders {
			go func() {
				defer func() { done <- struct{}{} }()
				for next.Add(1) <= int64(n) {
					if err := st.AddDeliveries(&store.Delivery{Backend: "plex-home", User: AllUsers, ReceivedAt: time.Now(), Body: body}); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		for range senders {
			<-done
		}
		return time.Since(start)
	}
	r := newWebhookRig(b, DefaultWebhookMaxBytes)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders}}
	url := r.srv.URL + "/webhook/" + r.token
	ingest := func(n int) time.Duration {
		start := time.Now()
		var next atomic.Int64
		done := make(chan struct{})
		for range senders {
			go func() {
				defer func() { done <- struct{}{} }()
				for next.Add(1) <= int64(n) {
					resp, err := client.Post(url, "application/json", bytes.NewReader(body))
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Error(fmt.Errorf("status %d", resp.StatusCode))
						return
					}
				}
			}()
		}
		for range senders {
			<-done
		}
		return time.Since(start)
	}
	fst, err := store.Open(filepath.Join(b.TempDir(), store.FileName), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer fst.Close()
	b.ResetTimer()
	var tIngest, tFloor time.Duration
	for range b.N {
		tIngest += ingest(2000)
		tFloor += floor(fst, 2000)
	}
	b.StopTimer()
	n := float64(2000 * b.N)
	ingestRate, floorRate := n/tIngest.Seconds(), n/tFloor.Seconds()
	b.ReportMetric(ingestRate, "acked/s")
	b.ReportMetric(floorRate, "floor/s")
	b.ReportMetric(ingestRate/floorRate, "ratio")
}
