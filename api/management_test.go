package api

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gorilla/mux"
	"github.com/rs/zerolog"

	"github.com/keepwatch/keepwatch/tasks"
)

var updateManagementGolden = flag.Bool("update-management", false, "rewrite api/testdata/management/*.golden")

// exchange sends one request to the fixture's router.
func (f *mgmtFixture) exchange(method, path, body, key string) (*http.Request, *httptest.ResponseRecorder) {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", key)
	}
	rec := httptest.NewRecorder()
	f.router.ServeHTTP(rec, req)
	return req, rec
}

var checkedAt = regexp.MustCompile(`"checked_at": "[^"]*"`)

// goldenText is what a golden file holds: the status line and the indented
// body, with the wall-clock time of a backend check masked.
func goldenText(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, rec.Body.Bytes(), "", "  "); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, rec.Body)
	}
	body := checkedAt.ReplaceAllString(buf.String(), `"checked_at": "<now>"`)
	return rec.Result().Status + "\n" + body + "\n"
}

func compareGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "management", name+".golden")
	if *updateManagementGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./api/ -run TestManagementRoutes -update-management)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

// TestManagementRoutes runs every route's happy path and its errors, checks
// each answer against its golden file and against openapi.json.
func TestManagementRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	const bearer = "Bearer " + testKey
	tests := []struct {
		name         string
		method, path string
		body         string
		key          string // Authorization header; bearer when empty
		wantStatus   int
	}{
		{"auth-missing", "GET", "/api/v1/backends", "", "-", 401},
		{"auth-wrong-key", "GET", "/api/v1/backends", "", "Bearer nope", 401},
		{"auth-wrong-scheme", "GET", "/api/v1/backends", "", "Basic " + testKey, 401},
		{"auth-unknown-route", "GET", "/api/v1/nothing", "", "-", 401},
		{"unknown-route", "GET", "/api/v1/nothing", "", "", 404},
		{"method-not-allowed", "DELETE", "/api/v1/runs", "", "", 405},

		{"backends", "GET", "/api/v1/backends", "", "", 200},
		{"backend-test", "POST", "/api/v1/backends/plex-home/test", "", "", 200},
		{"backend-test-unreachable", "POST", "/api/v1/backends/jelly/test", "", "", 200},
		{"backend-test-unknown", "POST", "/api/v1/backends/nope/test", "", "", 404},
		{"accounts", "GET", "/api/v1/backends/plex-home/accounts", "", "", 200},
		{"accounts-unknown", "GET", "/api/v1/backends/nope/accounts", "", "", 404},
		{"users", "GET", "/api/v1/users", "", "", 200},

		{"webhooks", "GET", "/api/v1/webhooks", "", "", 200},
		{"rotate-no-user", "POST", "/api/v1/webhooks/rotate", `{"backend":"jelly"}`, "", 400},
		{"rotate-no-body", "POST", "/api/v1/webhooks/rotate", "", "", 400},
		{"rotate-unknown-field", "POST", "/api/v1/webhooks/rotate", `{"user":"alice","backend":"jelly","token":"x"}`, "", 400},
		{"rotate-bad-json", "POST", "/api/v1/webhooks/rotate", `{"user":`, "", 400},
		{"rotate-wrong-type", "POST", "/api/v1/webhooks/rotate", `{"user":7,"backend":"jelly"}`, "", 400},
		{"rotate-unknown-backend", "POST", "/api/v1/webhooks/rotate", `{"user":"alice","backend":"nope"}`, "", 404},
		{"rotate-unknown-user", "POST", "/api/v1/webhooks/rotate", `{"user":"zed","backend":"jelly"}`, "", 404},
		{"deliveries", "GET", "/api/v1/webhooks/deliveries", "", "", 200},
		{"deliveries-backend", "GET", "/api/v1/webhooks/deliveries?backend=jelly&limit=5", "", "", 200},
		{"deliveries-bad-limit", "GET", "/api/v1/webhooks/deliveries?limit=0", "", "", 400},
		{"deliveries-unknown-backend", "GET", "/api/v1/webhooks/deliveries?backend=nope", "", "", 404},

		{"state", "GET", "/api/v1/state", "", "", 200},
		{"state-filtered", "GET", "/api/v1/state?user=alice&watched=false&backend=plex-home", "", "", 200},
		{"state-page-1", "GET", "/api/v1/state?limit=2", "", "", 200},
		{"state-page-2", "GET", "/api/v1/state?limit=2&after=2", "", "", 200},
		{"state-bad-watched", "GET", "/api/v1/state?watched=maybe", "", "", 400},
		{"state-bad-after", "GET", "/api/v1/state?after=x", "", "", 400},
		{"state-bad-limit", "GET", "/api/v1/state?limit=5000", "", "", 400},
		{"state-unknown-user", "GET", "/api/v1/state?user=zed", "", "", 404},
		{"state-unknown-backend", "GET", "/api/v1/state?backend=nope", "", "", 404},
		{"state-show", "GET", "/api/v1/state/1", "", "", 200},
		{"state-show-missing", "GET", "/api/v1/state/9", "", "", 404},
		{"state-show-bad-id", "GET", "/api/v1/state/abc", "", "", 400},
		{"mark", "POST", "/api/v1/state/1/mark", `{"watched":false}`, "", 200},
		{"mark-no-watched", "POST", "/api/v1/state/1/mark", `{}`, "", 400},
		{"mark-wrong-type", "POST", "/api/v1/state/1/mark", `{"watched":"yes"}`, "", 400},
		{"mark-missing", "POST", "/api/v1/state/9/mark", `{"watched":true}`, "", 404},

		{"tasks", "GET", "/api/v1/tasks", "", "", 200},
		{"task-run", "POST", "/api/v1/tasks/import/run", `{"backends":["jelly"],"user":"alice","dry_run":true}`, "", 202},
		{"task-run-no-body", "POST", "/api/v1/tasks/backup/run", "", "", 202},
		{"task-run-busy", "POST", "/api/v1/tasks/export/run", `{}`, "", 409},
		{"task-run-unknown", "POST", "/api/v1/tasks/nope/run", `{}`, "", 404},
		{"task-run-unknown-backend", "POST", "/api/v1/tasks/import/run", `{"backends":["nope"]}`, "", 404},
		{"task-run-unknown-user", "POST", "/api/v1/tasks/import/run", `{"user":"zed"}`, "", 404},
		{"task-run-misspelt", "POST", "/api/v1/tasks/import/run", `{"ful":true}`, "", 400},

		{"runs", "GET", "/api/v1/runs", "", "", 200},
		{"runs-bad-limit", "GET", "/api/v1/runs?limit=x", "", "", 400},
		{"run-show", "GET", "/api/v1/runs/2", "", "", 200},
		{"run-show-missing", "GET", "/api/v1/runs/99", "", "", 404},
		{"run-show-zero", "GET", "/api/v1/runs/0", "", "", 400},
		{"run-approve", "POST", "/api/v1/runs/2/approve", "", "", 200},
		{"run-approve-not-held", "POST", "/api/v1/runs/1/approve", "", "", 409},
		{"run-approve-missing", "POST", "/api/v1/runs/99/approve", "", "", 404},
		{"run-discard", "POST", "/api/v1/runs/2/discard", "", "", 200},
		{"run-discard-not-held", "POST", "/api/v1/runs/3/discard", "", "", 409},
		{"run-undo", "POST", "/api/v1/runs/1/undo", "", "", 200},
		{"run-undo-running", "POST", "/api/v1/runs/3/undo", "", "", 409},
		{"run-undo-missing", "POST", "/api/v1/runs/99/undo", "", "", 404},

		{"queue", "GET", "/api/v1/queue", "", "", 200},
		{"health", "GET", "/api/v1/health", "", "", 200},
	}
	f := newMgmtFixture(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := tt.key
			switch key {
			case "":
				key = bearer
			case "-":
				key = ""
			}
			req, rec := f.exchange(tt.method, tt.path, tt.body, key)
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if rec.Code == http.StatusUnauthorized && rec.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			compareGolden(t, tt.name, goldenText(t, rec))
			checkAgainstSpec(t, doc, f.router, req, []byte(tt.body), rec)
		})
	}
	if diff := cmp.Diff([]tasks.Request{{Backends: []string{"jelly"}, User: "alice", DryRun: true}, {}}, f.tasks.got); diff != "" {
		t.Errorf("task requests (-want +got):\n%s", diff)
	}
}

// TestManagementRotate checks that a rotated token's URL is the only one
// listed afterwards, and that "*" names a backend-wide token.
func TestManagementRotate(t *testing.T) {
	doc := loadOpenAPI(t)
	f := newMgmtFixture(t)
	for _, body := range []string{`{"user":"alice","backend":"jelly"}`, `{"user":"*","backend":"plex-home"}`} {
		req, rec := f.exchange("POST", "/api/v1/webhooks/rotate", body, "Bearer "+testKey)
		if rec.Code != http.StatusOK {
			t.Fatalf("rotate %s: %d %s", body, rec.Code, rec.Body)
		}
		checkAgainstSpec(t, doc, f.router, req, []byte(body), rec)
	}
	_, rec := f.exchange("GET", "/api/v1/webhooks", "", "Bearer "+testKey)
	var hooks []Webhook
	if err := json.Unmarshal(rec.Body.Bytes(), &hooks); err != nil {
		t.Fatal(err)
	}
	if len(hooks) != 2 {
		t.Fatalf("webhooks = %+v, want 2", hooks)
	}
	for _, h := range hooks {
		tok := strings.TrimPrefix(h.URL, "http://keepwatch.lan:8686/webhook/")
		if tok == h.URL || strings.HasPrefix(tok, "tok-") || len(tok) < 22 {
			t.Errorf("%s/%s still has URL %s", h.User, h.Backend, h.URL)
		}
		if _, found, err := f.st.LookupToken(tok); err != nil || !found {
			t.Errorf("new token of %s/%s not found: %v", h.User, h.Backend, err)
		}
	}
	for _, old := range []string{"tok-plex-all", "tok-jelly-alice"} {
		if _, found, _ := f.st.LookupToken(old); found {
			t.Errorf("old token %s still works", old)
		}
	}
}

// TestManagementOpenAPIServed checks the document is served without a key.
func TestManagementOpenAPIServed(t *testing.T) {
	f := newMgmtFixture(t)
	_, rec := f.exchange("GET", "/api/v1/openapi.json", "", "")
	if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), OpenAPIDocument) {
		t.Errorf("GET openapi.json = %d, %d bytes; want 200 and the document", rec.Code, rec.Body.Len())
	}
}

// TestManagementEmptyKeyRefusesAll checks the API is closed, not open, when
// it is given no key.
func TestManagementEmptyKeyRefusesAll(t *testing.T) {
	f := newMgmtFixture(t)
	router := mux.NewRouter()
	NewManagement(Deps{Backends: newFakeBackends(), Store: f.st, Tasks: f.tasks}, "", zerolog.Nop()).Register(router)
	for _, key := range []string{"", "Bearer", "Bearer ", "Bearer x"} {
		req := httptest.NewRequest("GET", "/api/v1/runs", nil)
		req.Header.Set("Authorization", key)
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("key %q: status %d, want 401", key, rec.Code)
		}
	}
}
