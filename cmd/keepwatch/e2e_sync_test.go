package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/keepwatch/keepwatch/api"
	jellyfake "github.com/keepwatch/keepwatch/backends/jellyfin/fake"
	plexfake "github.com/keepwatch/keepwatch/backends/plex/fake"
	"github.com/keepwatch/keepwatch/plugins"
	"github.com/keepwatch/keepwatch/plugins/host"
)

// forwarder relays the Jellyfin fake's webhooks to keepwatch once the URL
// with its token is known (the fake takes its destinations at construction).
type forwarder struct {
	mu     sync.Mutex
	target string
}

func (f *forwarder) set(url string) { f.mu.Lock(); f.target = url; f.mu.Unlock() }

func (f *forwarder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	target := f.target
	f.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	if target == "" {
		return // keepwatch is not configured as a destination yet
	}
	req, _ := http.NewRequestWithContext(r.Context(), r.Method, target, bytes.NewReader(body))
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	resp.Body.Close()
	w.WriteHeader(resp.StatusCode)
}

// syncRig is keepwatch serving a Plex fake and a Jellyfin fake that hold the
// same movies.
type syncRig struct {
	daemon
	plex   *plexfake.Server
	jelly  *jellyfake.Server
	fwd    *forwarder
	movies []plexfake.Item // movies with external ids, by position
	jfIDs  []string        // the same movies' Jellyfin ids
	// onlyJelly is a Jellyfin movie Plex lacks until it is added.
	onlyJelly string
}

// daemon is the real keepwatch binary serving a config in a directory of
// its own, and the management API it answers on.
type daemon struct {
	t    *testing.T
	dir  string
	cfg  string
	base string
	key  string
	proc *process
}

func newDaemon(t *testing.T) daemon {
	addr := freeLoopbackAddr(t)
	dir := t.TempDir()
	return daemon{t: t, dir: dir, cfg: filepath.Join(dir, "keepwatch.yaml"), base: "http://" + addr, key: e2eAPIKey}
}

// writeConfig writes the daemon's keepwatch.yaml: the server section that
// points it at its own directory and address, the backends and users given,
// and the scheduled import every importEvery with every other task off.
func (r *daemon) writeConfig(importEvery, backendsAndUsers string) {
	writeFile(r.t, r.cfg, fmt.Sprintf(`server:
  listen: %q
  public_url: %q
  data_dir: ./data
  api_key: %q
%s
tasks:
  import: {schedule: %q, enabled: true}
  import_full: {schedule: "0 3 * * 0", enabled: false}
  export: {schedule: "@every 1h", enabled: false}
  backup: {schedule: "0 4 * * *", enabled: false}
  prune: {schedule: "0 5 * * *", enabled: false}
`, strings.TrimPrefix(r.base, "http://"), r.base, r.key, strings.TrimSpace(backendsAndUsers), importEvery))
}

// onlyJellyIMDb is the id of the movie Plex gets only by a library.new.
const onlyJellyIMDb = "tt9900001"

const e2eAPIKey = "e2e-api-key-0123456789"

func newSyncRig(t *testing.T) *syncRig {
	r := &syncRig{daemon: newDaemon(t), fwd: &forwarder{}}
	fwdSrv := httptest.NewServer(r.fwd)
	t.Cleanup(fwdSrv.Close)

	r.plex = plexfake.MustNew(plexfake.Options{Seed: 7, Movies: 40})
	plexSrv := httptest.NewServer(r.plex)
	t.Cleanup(plexSrv.Close)
	var jfURL string
	r.jelly, jfURL = func() (*jellyfake.Server, string) {
		s, ts := jellyfake.Start(t, jellyfake.Options{Seed: 7, Movies: 40,
			Users:    []jellyfake.User{{Name: "alice", Admin: true}},
			Webhooks: []jellyfake.WebhookTarget{{URL: fwdSrv.URL}}})
		return s, ts.URL
	}()
	// The same media on both: Jellyfin's movies get the Plex movies' ids.
	for i, it := range r.plex.Items("movie") {
		ids := map[string]string{}
		for _, g := range it.GUIDs {
			src, id, _ := strings.Cut(g, "://")
			ids[strings.ToUpper(src[:1])+src[1:]] = id
		}
		if len(ids) == 0 {
			continue // a legacy-agent movie: Guid[] is empty
		}
		jf := r.jelly.MovieID(i)
		if err := r.jelly.SetProviderIDs(jf, ids); err != nil {
			t.Fatal(err)
		}
		r.movies = append(r.movies, it)
		r.jfIDs = append(r.jfIDs, jf)
	}
	if len(r.movies) < 31 {
		t.Fatalf("only %d movies with external ids", len(r.movies))
	}
	// The last one becomes a movie Plex does not have yet (its ids are
	// Plex-unknown); the library.new subtest adds it to Plex.
	r.onlyJelly = r.jfIDs[len(r.jfIDs)-1]
	r.movies, r.jfIDs = r.movies[:len(r.movies)-1], r.jfIDs[:len(r.jfIDs)-1]
	if err := r.jelly.SetProviderIDs(r.onlyJelly, map[string]string{"Imdb": onlyJellyIMDb}); err != nil {
		t.Fatal(err)
	}

	owner := r.plex.Owner()
	r.writeConfig("@every 2s", fmt.Sprintf(`backends:
  - name: plex
    type: plex
    url: %q
    token: %q
    options: {plextv_url: %q}
  - name: jelly
    type: jellyfin
    url: %q
    token: %q
users:
  auto_map: false
  list:
    - name: alice
      accounts: {plex: %s, jelly: alice}
`, plexSrv.URL, owner.PlexTVToken, plexSrv.URL, jfURL, r.jelly.APIKey(), owner.Username))
	return r
}

func (r *daemon) start() {
	r.t.Helper()
	r.proc = start(r.t, r.dir, "--config", r.cfg, "--log-level", "debug", "serve")
	waitHealthy(r.t, r.proc, r.base)
}

// run runs a keepwatch command against the daemon, as its admin would, and
// returns its exit status and output.
func (r *daemon) run(args ...string) (code int, stdout string) {
	r.t.Helper()
	p := start(r.t, r.dir, append([]string{"--config", r.cfg}, args...)...)
	code = p.wait(r.t, 2*time.Minute)
	if code != 0 {
		r.t.Logf("keepwatch %s: exit %d; stderr:\n%s", strings.Join(args, " "), code, p.stderr)
	}
	return code, p.stdout.String()
}

// api calls the management API and decodes its JSON answer into out.
func (r *daemon) api(method, path string, in, out any) int {
	r.t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, r.base+"/api/v1"+path, body)
	req.Header.Set("Authorization", "Bearer "+r.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			r.t.Fatalf("%s %s: %v\n%s", method, path, err, raw)
		}
	}
	return resp.StatusCode
}

// eventually polls cond every 5 ms until it holds, failing after limit (a
// guard against hanging, not a speed assertion).
func (r *daemon) eventually(what string, limit time.Duration, cond func() bool) time.Duration {
	r.t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			r.t.Fatalf("%s: not within %s; keepwatch stderr:\n%s", what, limit, tail(r.proc.stderr.String(), 6000))
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func (r *syncRig) plexWatched(i int) bool {
	st, err := r.plex.State(r.plex.Owner().Username, r.movies[i].RatingKey)
	if err != nil {
		r.t.Fatal(err)
	}
	return st.ViewCount > 0
}

func (r *syncRig) jellyWatched(i int) bool {
	d, err := r.jelly.UserData("alice", r.jfIDs[i])
	if err != nil {
		r.t.Fatal(err)
	}
	return d.Played
}

// webhookURLs waits until keepwatch has issued a webhook URL for every
// "user/backend" of want ("*" for a backend-wide token) and returns them by
// that key.
func (r *daemon) webhookURLs(want ...string) map[string]string {
	urls := map[string]string{}
	r.eventually("webhook tokens issued", 30*time.Second, func() bool {
		var list []api.Webhook
		if r.api(http.MethodGet, "/webhooks", nil, &list) != http.StatusOK {
			return false
		}
		for _, w := range list {
			urls[w.User+"/"+w.Backend] = w.URL
		}
		for _, k := range want {
			if urls[k] == "" {
				return false
			}
		}
		return true
	})
	return urls
}

func (r *syncRig) writeRequests() int {
	n := 0
	for route, c := range r.plex.RequestCounts() {
		if strings.Contains(route, "scrobble") || strings.Contains(route, "timeline") {
			n += c
		}
	}
	for _, rq := range r.jelly.Requests() {
		if rq.Method == http.MethodPost || rq.Method == http.MethodDelete {
			n++
		}
	}
	return n
}

// recordWithGUID returns the id of user's record of the item with guid.
func (r *daemon) recordWithGUID(user, guid string) uint64 {
	r.t.Helper()
	var page struct {
		Records []struct {
			ID   uint64
			Item struct{ GUIDs []string }
		}
	}
	if r.api(http.MethodGet, "/state?user="+user+"&limit=500", nil, &page) != http.StatusOK {
		r.t.Fatal("list state")
	}
	for _, rec := range page.Records {
		if slices.Contains(rec.Item.GUIDs, guid) {
			return rec.ID
		}
	}
	r.t.Fatalf("no record of %s has %s", user, guid)
	return 0
}

// journalHas reports whether a record's history holds an event of kind on
// backend.
func (r *daemon) journalHas(recordID uint64, kind, backend string) bool {
	r.t.Helper()
	var rec struct {
		Journal []struct{ Kind, Backend string }
	}
	if r.api(http.MethodGet, fmt.Sprintf("/state/%d", recordID), nil, &rec) != http.StatusOK {
		r.t.Fatalf("show record %d", recordID)
	}
	for _, ev := range rec.Journal {
		if ev.Kind == kind && ev.Backend == backend {
			return true
		}
	}
	return false
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// TestE2ESync is issue 7's end-to-end test: the real binary against a Plex
// fake and a Jellyfin fake over loopback.
func TestE2ESync(t *testing.T) {
	r := newSyncRig(t)
	owner := r.plex.Owner().Username
	ctx := context.Background()
	// Before keepwatch: a play on each side, made without webhooks.
	if err := r.plex.MarkWatched(owner, r.movies[0].RatingKey, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := r.jelly.SetUserData("alice", r.jfIDs[1], jellyfake.UserData{Played: true, PlayCount: 1, LastPlayedDate: time.Now().Add(-2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := r.jelly.SetUserData("alice", r.onlyJelly, jellyfake.UserData{Played: true, PlayCount: 1, LastPlayedDate: time.Now().Add(-3 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	r.start()

	t.Run("first import makes both agree", func(t *testing.T) {
		r.eventually("movie 0 (played on Plex) watched on Jellyfin", 60*time.Second, func() bool { return r.jellyWatched(0) })
		r.eventually("movie 1 (played on Jellyfin) watched on Plex", 60*time.Second, func() bool { return r.plexWatched(1) })
		for i := 2; i < 6; i++ {
			if r.plexWatched(i) || r.jellyWatched(i) {
				t.Errorf("movie %d became watched without a play", i)
			}
		}
	})

	t.Run("backends list shows each backend's plugin process", func(t *testing.T) {
		var bs []api.Backend
		if code := r.api(http.MethodGet, "/backends", nil, &bs); code != http.StatusOK {
			t.Fatalf("GET /backends: %d", code)
		}
		if len(bs) != 2 {
			t.Fatalf("GET /backends: %d backends, want plex and jelly", len(bs))
		}
		for _, b := range bs {
			if b.Plugin == nil || b.Plugin.State != host.StateReady || b.Plugin.Source != host.SourceBuiltin || b.Plugin.PID <= 0 || b.Plugin.Protocol != plugins.ProtocolVersion {
				t.Errorf("%s: plugin %+v, want a ready built-in process with a pid and protocol %d", b.Name, b.Plugin, plugins.ProtocolVersion)
			}
		}
	})

	urls := r.webhookURLs("*/plex", "*/jelly")
	if err := r.plex.AddWebhook(plexfake.Webhook{URL: urls["*/plex"]}); err != nil {
		t.Fatal(err)
	}
	r.fwd.set(urls["*/jelly"])

	var latencies []time.Duration
	t.Run("plex scrobble reaches jellyfin", func(t *testing.T) {
		for i := 2; i < 22; i++ {
			start := time.Now()
			if err := r.plex.Scrobble(ctx, owner, r.movies[i].RatingKey); err != nil {
				t.Fatal(err)
			}
			r.eventually(fmt.Sprintf("movie %d watched on Jellyfin", i), 10*time.Second, func() bool { return r.jellyWatched(i) })
			latencies = append(latencies, time.Since(start))
		}
		t.Logf("webhook→write latency over %d Plex scrobbles: p50 %s, p99 %s, max %s (goal p99 ≤ 250ms)",
			len(latencies), percentile(latencies, 0.5), percentile(latencies, 0.99), slices.Max(latencies))
	})

	t.Run("jellyfin unwatch reaches plex", func(t *testing.T) {
		if err := r.jelly.TogglePlayed("alice", r.jfIDs[2], false); err != nil {
			t.Fatal(err)
		}
		r.eventually("movie 2 unwatched on Plex", 10*time.Second, func() bool { return !r.plexWatched(2) })
	})

	t.Run("echoes cause no further writes", func(t *testing.T) {
		time.Sleep(3 * time.Second) // echo webhooks and two scheduled imports pass
		before := r.writeRequests()
		time.Sleep(3 * time.Second)
		if after := r.writeRequests(); after != before {
			t.Errorf("%d writes happened with nothing changing: echoes or imports are being written back", after-before)
		}
		if r.plexWatched(2) || r.jellyWatched(2) {
			t.Error("the unwatch was undone by an echo")
		}
	})

	t.Run("SIGKILL after acknowledged webhooks loses none", func(t *testing.T) {
		for i := 22; i < 27; i++ {
			if err := r.plex.Scrobble(ctx, owner, r.movies[i].RatingKey); err != nil {
				t.Fatal(err)
			}
		}
		r.eventually("5 webhooks acknowledged", 10*time.Second, func() bool {
			n := 0
			for _, d := range r.plex.WebhookDeliveries() {
				if d.Event == "media.scrobble" && d.Status == http.StatusOK {
					n++
				}
			}
			return n >= 20+5
		})
		if err := r.proc.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		r.proc.wait(t, 10*time.Second)
		r.start()
		for i := 22; i < 27; i++ {
			r.eventually(fmt.Sprintf("movie %d watched on Jellyfin after the restart", i), 30*time.Second, func() bool { return r.jellyWatched(i) })
		}
	})

	t.Run("scheduled import catches a change made without a webhook", func(t *testing.T) {
		if err := r.jelly.SetUserData("alice", r.jfIDs[28], jellyfake.UserData{Played: true, PlayCount: 1, LastPlayedDate: time.Now()}); err != nil {
			t.Fatal(err)
		}
		r.eventually("movie 28 watched on Plex", 30*time.Second, func() bool { return r.plexWatched(28) })
	})

	t.Run("library.new on plex gets the play made on jellyfin", func(t *testing.T) {
		// The first import tried to write this play to Plex, which had no
		// such movie: a permanent failure. Adding the movie to Plex sends
		// library.new; keepwatch links alice's record to it and writes.
		recordID := r.recordWithGUID("alice", "imdb:"+onlyJellyIMDb)
		if !r.journalHas(recordID, "backend.write_failed", "plex") {
			t.Fatalf("record %d: no failed write to Plex before the movie existed there", recordID)
		}
		start := time.Now()
		it, err := r.plex.AddItem(ctx, plexfake.ItemSpec{Type: "movie", Title: "Only On Jellyfin", Year: 2024,
			GUID: "plex://movie/5d77682f6f4521001ea9e5a1", GUIDs: []string{"imdb://" + onlyJellyIMDb}})
		if err != nil {
			t.Fatal(err)
		}
		r.eventually("the added movie watched on Plex", 30*time.Second, func() bool {
			st, err := r.plex.State(owner, it.RatingKey)
			if err != nil {
				t.Fatal(err)
			}
			return st.ViewCount > 0
		})
		t.Logf("library.new → write on Plex: %s", time.Since(start))
		// Plex shows the play as soon as the write lands; keepwatch journals
		// it when the answer comes back, a moment later.
		r.eventually(fmt.Sprintf("record %d: the write to Plex in its history", recordID), 10*time.Second, func() bool {
			return r.journalHas(recordID, "backend.write", "plex")
		})
		var ds []struct{ Backend, Status, Reason string }
		if r.api(http.MethodGet, "/webhooks/deliveries?backend=plex&limit=20", nil, &ds) != http.StatusOK {
			t.Fatal("list deliveries")
		}
		found := false
		for _, d := range ds {
			// The delta import every 2 s may have linked it first; then the
			// delivery found nothing left to write. Either way it applied.
			if strings.HasPrefix(d.Reason, "item added: ") {
				found = true
				if d.Status != "applied" {
					t.Errorf("library.new delivery: %s %q", d.Status, d.Reason)
				}
			}
		}
		if !found {
			t.Errorf("no library.new delivery among %+v", ds)
		}
	})

	t.Run("invalid token gets the same answer as a valid one", func(t *testing.T) {
		post := func(url string) (int, string) {
			resp, err := http.Post(url, "application/json", strings.NewReader(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		okCode, okBody := post(urls["*/jelly"])
		badCode, badBody := post(r.base + "/webhook/not-a-real-token")
		if okCode != badCode || okBody != badBody {
			t.Errorf("valid token: %d %q; invalid: %d %q", okCode, okBody, badCode, badBody)
		}
	})
}
