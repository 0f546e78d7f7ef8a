package fake_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keepwatch/keepwatch/backends/plex/fake"
)

// clock is a settable clock for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Unix(1_750_000_000, 0)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func start(t testing.TB, opts fake.Options) (*fake.Server, *httptest.Server) {
	t.Helper()
	srv, err := fake.New(opts)
	if err != nil {
		t.Fatalf("fake.New: %v", err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return srv, ts
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

// call makes one request. hdr holds extra headers ("Accept": "application/json" etc.).
func call(t testing.TB, method, url, token string, hdr map[string]string) reply {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Plex-Token", token)
	}
	req.Header.Set("X-Plex-Client-Identifier", "keepwatch-test")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

var jsonAccept = map[string]string{"Accept": "application/json"}

// getJSON GETs url as JSON and decodes MediaContainer.
func getJSON(t testing.TB, url, token string) map[string]any {
	t.Helper()
	r := call(t, http.MethodGet, url, token, jsonAccept)
	if r.status != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", url, r.status, r.body)
	}
	return decodeContainer(t, r.body)
}

func decodeContainer(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var doc struct {
		MediaContainer map[string]any
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("decode %q: %v", truncate(b), err)
	}
	if doc.MediaContainer == nil {
		t.Fatalf("no MediaContainer in %q", truncate(b))
	}
	return doc.MediaContainer
}

func truncate(b []byte) string {
	if len(b) > 400 {
		return string(b[:400]) + "…"
	}
	return string(b)
}

// metadata returns MediaContainer.Metadata as objects.
func metadata(mc map[string]any) []map[string]any {
	raw, _ := mc["Metadata"].([]any)
	out := make([]map[string]any, len(raw))
	for i, m := range raw {
		out[i] = m.(map[string]any)
	}
	return out
}

func ratingKeys(ms []map[string]any) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m["ratingKey"].(string)
	}
	return out
}

func guidIDs(m map[string]any) []string {
	raw, _ := m["Guid"].([]any)
	var out []string
	for _, g := range raw {
		out = append(out, g.(map[string]any)["id"].(string))
	}
	return out
}

func num(t testing.TB, v any) int64 {
	t.Helper()
	n, ok := v.(json.Number)
	if !ok {
		t.Fatalf("%v (%T) is not a JSON number", v, v)
	}
	i, err := n.Int64()
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// xmlNode is a generic XML element for decoding PMS's XML.
type xmlNode struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Nodes   []xmlNode  `xml:",any"`
}

func (n xmlNode) attr(name string) (string, bool) {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

func decodeXML(t testing.TB, b []byte) xmlNode {
	t.Helper()
	var n xmlNode
	if err := xml.Unmarshal(b, &n); err != nil {
		t.Fatalf("decode XML %q: %v", truncate(b), err)
	}
	return n
}

// webhook is one webhook POST as a receiver saw it.
type webhook struct {
	userAgent   string
	contentType string
	payload     map[string]any
	payloadType string // Content-Type of the payload part
	thumb       []byte
	thumbType   string
	parts       []string // part names in order
}

// hookReceiver records webhooks, parsed with net/http's multipart reader.
type hookReceiver struct {
	t  testing.TB
	mu sync.Mutex
	hs []webhook
	ts *httptest.Server
}

func newHookReceiver(t testing.TB) *hookReceiver {
	h := &hookReceiver{t: t}
	h.ts = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.ts.Close)
	return h
}

func (h *hookReceiver) serve(w http.ResponseWriter, r *http.Request) {
	var wh webhook
	wh.userAgent = r.Header.Get("User-Agent")
	wh.contentType = r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(wh.contentType)
	if err != nil || mt != "multipart/form-data" {
		http.Error(w, "not multipart", http.StatusBadRequest)
		return
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		b, _ := io.ReadAll(p)
		wh.parts = append(wh.parts, p.FormName())
		switch p.FormName() {
		case "payload":
			wh.payloadType = p.Header.Get("Content-Type")
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.UseNumber()
			if err := dec.Decode(&wh.payload); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		case "thumb":
			wh.thumb = b
			wh.thumbType = p.Header.Get("Content-Type")
			if p.FileName() == "" {
				http.Error(w, "thumb without filename", http.StatusBadRequest)
				return
			}
		}
	}
	h.mu.Lock()
	h.hs = append(h.hs, wh)
	h.mu.Unlock()
}

func (h *hookReceiver) take() []webhook {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.hs
	h.hs = nil
	return out
}

func events(hs []webhook) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.payload["event"].(string))
	}
	return out
}

func hasKey(m map[string]any, k string) bool {
	_, ok := m[k]
	return ok
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
