package fake_test

import (
	"bytes"
	"image/jpeg"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/keepwatch/keepwatch/backends/plex/fake"
)

func TestTimeline(t *testing.T) {
	clk := newClock()
	srv, ts := start(t, fake.Options{Seed: 1, Movies: 3, Now: clk.Now})
	movie := srv.Items("movie")[0]
	alice := mustUser(t, srv, "alice")
	dur := movie.DurationMS
	q := func(state string, timeMS int64, withDuration bool) string {
		u := ts.URL + "/:/timeline?ratingKey=" + movie.RatingKey + "&key=/library/metadata/" + movie.RatingKey +
			"&identifier=com.plexapp.plugins.library&state=" + state + "&time=" + itoa(timeMS)
		if withDuration {
			u += "&duration=" + itoa(dur)
		}
		return u
	}
	post := func(url string, clientID bool) reply {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, url, nil)
		req.Header.Set("X-Plex-Token", alice.ServerToken)
		req.Header.Set("Accept", "application/json")
		if clientID {
			req.Header.Set("X-Plex-Client-Identifier", "keepwatch-test")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return reply{status: resp.StatusCode, header: resp.Header, body: b.Bytes()}
	}
	state := func() fake.State {
		st, err := srv.State("alice", movie.RatingKey)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}

	tests := []struct {
		name     string
		url      string
		clientID bool
		status   int
		want     fake.State
	}{
		{"no client identifier: ignored", q("stopped", 600_000, true), false, 200, fake.State{}},
		{"no duration: ignored", q("stopped", 600_000, false), true, 200, fake.State{}},
		{"both: position saved, dated", q("stopped", 600_000, true), true, 200, fake.State{ViewOffsetMS: 600_000, LastViewedAt: clk.Now().Unix()}},
		{"time 0 clears the position", q("stopped", 0, true), true, 200, fake.State{LastViewedAt: clk.Now().Unix()}},
		{"past 90% marks watched", q("stopped", dur*95/100, true), true, 200, fake.State{ViewCount: 1, LastViewedAt: clk.Now().Unix()}},
		{"bad state", q("rewinding", 1, true), true, 400, fake.State{ViewCount: 1, LastViewedAt: clk.Now().Unix()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := post(tc.url, tc.clientID)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if diff := cmp.Diff(tc.want, state()); diff != "" {
				t.Errorf("state (-want +got):\n%s", diff)
			}
		})
	}
	// The client identifier may come as a query parameter too.
	if err := srv.MarkUnwatched("alice", movie.RatingKey); err != nil {
		t.Fatal(err)
	}
	post(q("stopped", 120_000, true)+"&X-Plex-Client-Identifier=kw", false)
	if st := state(); st.ViewOffsetMS != 120_000 {
		t.Errorf("client id in query: state %+v", st)
	}
	if len(srv.Sessions()) != 0 {
		t.Errorf("stopped reports left sessions %v", srv.Sessions())
	}
}

func TestLegacyProgress(t *testing.T) {
	srv, ts := start(t, fake.Options{Seed: 1, Movies: 2})
	movie := srv.Items("movie")[0].RatingKey
	for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodPost} {
		call(t, method, ts.URL+"/:/progress?identifier=com.plexapp.plugins.library&state=stopped&key="+movie+"&time=90000", mustUser(t, srv, "alice").ServerToken, nil)
		st, _ := srv.State("alice", movie)
		if st.ViewOffsetMS != 90_000 {
			t.Errorf("%s /:/progress: state %+v", method, st)
		}
		_ = srv.MarkUnwatched("alice", movie)
	}
	// Shared ("external") users' progress is not updated by /:/progress.
	r := call(t, http.MethodPut, ts.URL+"/:/progress?identifier=com.plexapp.plugins.library&key="+movie+"&time=90000", mustUser(t, srv, "bob").ServerToken, nil)
	st, _ := srv.State("bob", movie)
	if r.status != 200 || st != (fake.State{}) {
		t.Errorf("shared user /:/progress: %d, state %+v", r.status, st)
	}
}

// TestWebhooks plays through a session and checks the events, their multipart shape
// (parsed with net/http's multipart reader), and who receives what.
func TestWebhooks(t *testing.T) {
	ownerHook, aliceHook := newHookReceiver(t), newHookReceiver(t)
	clk := newClock()
	srv, ts := start(t, fake.Options{Seed: 1, Movies: 2, Shows: 1, SeasonsPerShow: 1, EpisodesPerSeason: 2, Now: clk.Now})
	alice := mustUser(t, srv, "alice")
	for _, w := range []fake.Webhook{{URL: ownerHook.ts.URL}, {URL: aliceHook.ts.URL, Account: alice.ID}} {
		if err := srv.AddWebhook(w); err != nil {
			t.Fatal(err)
		}
	}
	ctx := t.Context()
	ep := srv.Items("episode")[0]
	dur := time.Duration(ep.DurationMS) * time.Millisecond

	steps := []struct {
		name string
		do   func() error
		want []string
	}{
		{"play", func() error { return srv.Play(ctx, "alice", ep.RatingKey, time.Minute) }, []string{"media.play"}},
		{"progress while playing sends nothing", func() error { return srv.Play(ctx, "alice", ep.RatingKey, 2*time.Minute) }, nil},
		{"pause", func() error { return srv.Pause(ctx, "alice", ep.RatingKey, 3*time.Minute) }, []string{"media.pause"}},
		{"resume", func() error { return srv.Play(ctx, "alice", ep.RatingKey, 3*time.Minute) }, []string{"media.resume"}},
		{"past 90%", func() error { return srv.Play(ctx, "alice", ep.RatingKey, dur*92/100) }, []string{"media.scrobble"}},
		{"stop", func() error { return srv.Stop(ctx, "alice", ep.RatingKey, dur*97/100) }, []string{"media.stop"}},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		got := ownerHook.take()
		if diff := cmp.Diff(st.want, events(got)); diff != "" {
			t.Fatalf("%s: owner webhook events (-want +got):\n%s", st.name, diff)
		}
		if diff := cmp.Diff(st.want, events(aliceHook.take())); diff != "" {
			t.Fatalf("%s: alice's webhook events (-want +got):\n%s", st.name, diff)
		}
		for _, h := range got {
			checkWebhookShape(t, h, srv)
			if h.payload["user"] != false || h.payload["owner"] != true {
				t.Errorf("%s: alice's event on the owner's hook has user=%v owner=%v, want false/true", st.name, h.payload["user"], h.payload["owner"])
			}
			acct := h.payload["Account"].(map[string]any)
			if num(t, acct["id"]) != int64(alice.ID) || acct["title"] != "alice" {
				t.Errorf("%s: Account %v, want alice's plex.tv id %d", st.name, acct, alice.ID)
			}
			meta := h.payload["Metadata"].(map[string]any)
			if meta["ratingKey"] != ep.RatingKey || meta["librarySectionType"] != "show" || len(guidIDs(meta)) != 3 {
				t.Errorf("%s: Metadata %v", st.name, meta)
			}
		}
	}
	st, _ := srv.State("alice", ep.RatingKey)
	if st.ViewCount != 1 || st.ViewOffsetMS != 0 {
		t.Errorf("after a watched session: %+v, want one view and no resume point", st)
	}

	// Mark played through the API: PMS sends nothing.
	call(t, http.MethodPut, ts.URL+"/:/scrobble?identifier=com.plexapp.plugins.library&key="+srv.Items("movie")[0].RatingKey, alice.ServerToken, nil)
	call(t, http.MethodPut, ts.URL+"/:/unscrobble?identifier=com.plexapp.plugins.library&key="+ep.RatingKey, alice.ServerToken, nil)
	if got := ownerHook.take(); len(got) != 0 {
		t.Errorf("API scrobble/unscrobble sent webhooks %v", events(got))
	}

	// The owner's own events: user=true, Account.id 1 by default; alice's hook does
	// not get them.
	if err := srv.Scrobble(ctx, "admin", srv.Items("movie")[1].RatingKey); err != nil {
		t.Fatal(err)
	}
	got := ownerHook.take()
	if len(got) != 1 || got[0].payload["user"] != true || num(t, got[0].payload["Account"].(map[string]any)["id"]) != 1 {
		t.Fatalf("owner scrobble: %+v", got)
	}
	if n := len(aliceHook.take()); n != 0 {
		t.Errorf("alice's hook got %d owner events", n)
	}

	// A timeline session through the API plays like a player.
	tl := ts.URL + "/:/timeline?ratingKey=" + ep.RatingKey + "&key=/library/metadata/" + ep.RatingKey + "&duration=" + itoa(ep.DurationMS)
	call(t, http.MethodPost, tl+"&state=playing&time=1000", alice.ServerToken, nil)
	call(t, http.MethodPost, tl+"&state=stopped&time=5000", alice.ServerToken, nil)
	if diff := cmp.Diff([]string{"media.play", "media.stop"}, events(ownerHook.take())); diff != "" {
		t.Errorf("timeline session webhooks (-want +got):\n%s", diff)
	}
	if d := srv.WebhookDeliveries(); len(d) == 0 || d[len(d)-1].Status != 200 {
		t.Errorf("deliveries not recorded: %+v", d)
	}
}

func TestOwnerWebhookAccountID(t *testing.T) {
	hook := newHookReceiver(t)
	owner := fake.User{Kind: fake.Owner, Username: "admin", Email: "a@x", ID: 139113761}
	srv, _ := start(t, fake.Options{Seed: 1, Movies: 1, Users: []fake.User{owner}, OwnerWebhookAccountID: 139113761,
		Webhooks: []fake.Webhook{{URL: hook.ts.URL}}})
	if err := srv.Play(t.Context(), "admin", srv.Items("movie")[0].RatingKey, 0); err != nil {
		t.Fatal(err)
	}
	got := hook.take()
	if len(got) != 1 || num(t, got[0].payload["Account"].(map[string]any)["id"]) != 139113761 {
		t.Errorf("owner Account.id: %+v", got)
	}
}

func checkWebhookShape(t *testing.T, h webhook, srv *fake.Server) {
	t.Helper()
	if h.userAgent != "PlexMediaServer/"+fake.DefaultVersion {
		t.Errorf("User-Agent %q", h.userAgent)
	}
	if !strings.HasPrefix(h.contentType, "multipart/form-data; boundary=") {
		t.Errorf("Content-Type %q", h.contentType)
	}
	if h.payloadType != "application/json" {
		t.Errorf("payload part Content-Type %q", h.payloadType)
	}
	ev := h.payload["event"].(string)
	wantThumb := ev == "media.play" || ev == "library.new" || ev == "media.rate"
	if (h.thumb != nil) != wantThumb {
		t.Errorf("%s: thumb part present=%v, want %v (parts %v)", ev, h.thumb != nil, wantThumb, h.parts)
	}
	if h.thumb != nil {
		if h.thumbType != "image/jpeg" {
			t.Errorf("thumb Content-Type %q", h.thumbType)
		}
		if _, err := jpeg.Decode(bytes.NewReader(h.thumb)); err != nil {
			t.Errorf("thumb is not a JPEG: %v", err)
		}
	}
	server := h.payload["Server"].(map[string]any)
	if server["uuid"] != srv.MachineIdentifier() {
		t.Errorf("Server.uuid %v", server["uuid"])
	}
	if p, ok := h.payload["Player"].(map[string]any); !ok || p["uuid"] == "" {
		t.Errorf("Player %v", h.payload["Player"])
	}
}

func TestEmitAndRate(t *testing.T) {
	hook := newHookReceiver(t)
	srv, _ := start(t, fake.Options{Seed: 1, Movies: 1, Webhooks: []fake.Webhook{{URL: hook.ts.URL}}})
	if err := srv.Emit(t.Context(), "media.rate", "bob", srv.Items("movie")[0].RatingKey); err != nil {
		t.Fatal(err)
	}
	got := hook.take()
	if len(got) != 1 {
		t.Fatalf("%d webhooks", len(got))
	}
	checkWebhookShape(t, got[0], srv)
}

func TestWebhookFailureIsReported(t *testing.T) {
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusInternalServerError)
	}))
	t.Cleanup(recv.Close)
	srv, _ := start(t, fake.Options{Seed: 1, Movies: 1, Webhooks: []fake.Webhook{{URL: recv.URL}}})
	err := srv.Play(t.Context(), "admin", srv.Items("movie")[0].RatingKey, 0)
	if err == nil || !strings.Contains(err.Error(), "status 500") {
		t.Errorf("Play error %v, want the receiver's 500", err)
	}
	if d := srv.WebhookDeliveries(); len(d) != 1 || d[0].Status != 500 {
		t.Errorf("deliveries %+v", d)
	}
}

func TestSessions(t *testing.T) {
	srv, ts := start(t, fake.Options{Seed: 1, Movies: 2})
	movie := srv.Items("movie")[0].RatingKey
	if err := srv.Play(t.Context(), "alice", movie, 90*time.Second); err != nil {
		t.Fatal(err)
	}
	mc := getJSON(t, ts.URL+"/status/sessions", srv.Owner().ServerToken)
	ms := metadata(mc)
	if len(ms) != 1 {
		t.Fatalf("%d sessions", len(ms))
	}
	m := ms[0]
	user := m["User"].(map[string]any)
	player := m["Player"].(map[string]any)
	if m["ratingKey"] != movie || num(t, m["viewOffset"]) != 90_000 || user["title"] != "alice" || player["state"] != "playing" || !hasKey(m, "sessionKey") {
		t.Errorf("session %v", m)
	}
	if user["id"] != itoa(int64(mustUser(t, srv, "alice").ID)) {
		t.Errorf("session User.id %v (a string holding the account id)", user["id"])
	}
	for _, who := range []string{"alice", "bob", "kid"} {
		if r := call(t, http.MethodGet, ts.URL+"/status/sessions", mustUser(t, srv, who).ServerToken, nil); r.status != http.StatusForbidden {
			t.Errorf("%s reads sessions: %d, want 403", who, r.status)
		}
	}
	if err := srv.Stop(t.Context(), "alice", movie, 100*time.Second); err != nil {
		t.Fatal(err)
	}
	if n := num(t, getJSON(t, ts.URL+"/status/sessions", srv.Owner().ServerToken)["size"]); n != 0 {
		t.Errorf("%d sessions after stop", n)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
