package pipeline

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/keepwatch/keepwatch/core/engine"
	"github.com/keepwatch/keepwatch/core/store"
	"github.com/keepwatch/keepwatch/plugins"
)

// testPlugin is a plugins.Client in process: webhooks are JSON
// {"server","account_id","account","event","items":[{"id","guid","library","watched"}]}
// (event "added": the items appeared on the server), writes are recorded.
type testPlugin struct {
	serverID string
	accounts []plugins.Account

	mu      sync.Mutex
	applied []plugins.Write
	wrote   chan struct{}
}

type hookBody struct {
	Server    string `json:"server"`
	AccountID string `json:"account_id"`
	Account   string `json:"account"`
	Event     string `json:"event"`
	Items     []struct {
		ID      string `json:"id"`
		GUID    string `json:"guid"`
		Library string `json:"library"`
		Watched bool   `json:"watched"`
	} `json:"items"`
}

func (p *testPlugin) Describe(context.Context) (plugins.Description, error) {
	return plugins.Description{Type: "test", Version: "1", Capabilities: []plugins.Capability{plugins.CapabilityWebhook, plugins.CapabilityExport}}, nil
}
func (p *testPlugin) Configure(context.Context, plugins.Config) error { return nil }
func (p *testPlugin) CheckHealth(context.Context) (plugins.Health, error) {
	return plugins.Health{Reachable: true, ServerID: p.serverID}, nil
}
func (p *testPlugin) ListAccounts(context.Context) ([]plugins.Account, error) { return p.accounts, nil }
func (p *testPlugin) ParseWebhook(_ context.Context, req plugins.WebhookRequest) (plugins.WebhookResult, error) {
	var h hookBody
	if err := json.Unmarshal(req.Body, &h); err != nil {
		return plugins.WebhookResult{}, plugins.Reject("body is not JSON: %v", err)
	}
	if h.Event == "test" {
		return plugins.WebhookResult{Ignored: "test notification"}, nil
	}
	res := plugins.WebhookResult{ServerID: h.Server, AccountID: h.AccountID, AccountName: h.Account, Event: h.Event}
	if h.Event == "added" {
		for _, it := range h.Items {
			res.Added = append(res.Added, plugins.Observation{ItemID: it.ID, LibraryName: it.Library, Kind: plugins.KindMovie,
				Title: "T", GUIDs: []string{it.GUID}})
		}
		return res, nil
	}
	for _, it := range h.Items {
		res.Observations = append(res.Observations, plugins.Observation{AccountID: h.AccountID, ItemID: it.ID, LibraryName: it.Library,
			Kind: plugins.KindMovie, Title: "T", GUIDs: []string{it.GUID},
			State: plugins.State{WatchedKnown: true, Watched: it.Watched, EventAt: req.ReceivedAt}})
	}
	return res, nil
}
func (p *testPlugin) Import(context.Context, plugins.ImportRequest, func([]plugins.Observation) error) error {
	return plugins.ErrUnsupported
}
func (p *testPlugin) Apply(_ context.Context, ws []plugins.Write) ([]plugins.WriteOutcome, error) {
	p.mu.Lock()
	p.applied = append(p.applied, ws...)
	p.mu.Unlock()
	out := make([]plugins.WriteOutcome, len(ws))
	for i := range out {
		out[i] = plugins.Succeeded()
	}
	select {
	case p.wrote <- struct{}{}:
	default:
	}
	return out, nil
}
func (p *testPlugin) Resolve(_ context.Context, req plugins.ResolveRequest) ([]plugins.Resolution, error) {
	out := make([]plugins.Resolution, len(req.Queries))
	for i, q := range req.Queries {
		out[i] = plugins.Resolution{ItemID: "r-" + q.GUIDs[0]}
	}
	return out, nil
}

type rig struct {
	st     *store.Store
	p      *Pipeline
	plex   *testPlugin
	jelly  *testPlugin
	cancel context.CancelFunc
}

func newRig(t *testing.T, filter WebhookFilter, libs plugins.LibraryFilter) *rig {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), store.FileName), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	plex := &testPlugin{serverID: "plex-srv", accounts: []plugins.Account{{ID: "1", Name: "Alice", Admin: true}, {ID: "2", Name: "bob"}, {ID: "3", Name: "guest"}}, wrote: make(chan struct{}, 1)}
	jelly := &testPlugin{serverID: "jelly-srv", accounts: []plugins.Account{{ID: "aa", Name: "alice"}, {ID: "bb", Name: "Bob"}}, wrote: make(chan struct{}, 1)}
	dir := NewDirectory([]UserSpec{{Name: "alice", Accounts: map[string]string{"plex": "Alice"}}}, true)
	cfg := engine.DefaultConfig()
	cfg.Backends = map[string]engine.BackendPolicy{"plex": {Import: true, Export: true, Resolve: true}, "jelly": {Import: true, Export: true, Resolve: true}}
	cfg.AccountOf = dir.AccountID
	eng := engine.New(st, cfg, zerolog.Nop())
	p := New(Options{Store: st, Engine: eng, Directory: dir, Logger: zerolog.Nop(), Backends: []*Backend{
		{Name: "plex", Type: "test", Client: plex, Import: true, Export: true, Webhook: filter, Libraries: libs},
		{Name: "jelly", Type: "test", Client: jelly, Import: true, Export: true, Webhook: filter},
	}})
	ctx, cancel := context.WithCancel(context.Background())
	p.Start(ctx)
	t.Cleanup(func() { cancel(); p.Stop() })
	return &rig{st: st, p: p, plex: plex, jelly: jelly, cancel: cancel}
}

func (r *rig) deliver(t *testing.T, user, backend string, body any) *store.Delivery {
	t.Helper()
	raw, _ := json.Marshal(body)
	if s, ok := body.(string); ok {
		raw = []byte(s)
	}
	d := &store.Delivery{User: user, Backend: backend, ReceivedAt: time.Now(), Method: "POST", Body: raw}
	if err := r.st.AddDeliveries(d); err != nil {
		t.Fatal(err)
	}
	r.p.KickInbox()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		ds, err := r.st.ListDeliveries(backend, 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range ds {
			if x.ID == d.ID {
				return x
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("delivery %d never finished", d.ID)
	return nil
}

func scrobble(server, accountID, account, library string) map[string]any {
	return map[string]any{"server": server, "account_id": accountID, "account": account, "event": "scrobble",
		"items": []map[string]any{{"id": "55", "guid": "imdb:tt0113277", "library": library, "watched": true}}}
}

func TestInboxOutcomes(t *testing.T) {
	tests := []struct {
		name       string
		user       string
		body       any
		filter     WebhookFilter
		libs       plugins.LibraryFilter
		wantStatus string
		wantReason string
		wantPush   bool
	}{
		{name: "backend-wide token picks the user by account", user: "*", body: scrobble("plex-srv", "2", "bob", "Movies"),
			filter: WebhookFilter{MatchAccount: true, MatchServer: true}, wantStatus: store.DeliveryApplied, wantPush: true},
		{name: "user token with its own account", user: "alice", body: scrobble("plex-srv", "1", "Alice", "Movies"),
			filter: WebhookFilter{MatchAccount: true, MatchServer: true}, wantStatus: store.DeliveryApplied, wantPush: true},
		{name: "another account on a user token", user: "alice", body: scrobble("plex-srv", "2", "bob", "Movies"),
			filter: WebhookFilter{MatchAccount: true}, wantStatus: store.DeliveryIgnored,
			wantReason: "account bob (2) is not alice's account on plex; set webhook.match_account: false to accept it"},
		{name: "match_account off accepts it", user: "alice", body: scrobble("plex-srv", "2", "bob", "Movies"),
			wantStatus: store.DeliveryApplied, wantPush: true},
		{name: "unmapped account", user: "*", body: scrobble("plex-srv", "3", "guest", "Movies"),
			wantStatus: store.DeliveryIgnored, wantReason: "account guest (3) on plex is not mapped to a user"},
		{name: "another server", user: "*", body: scrobble("other", "2", "bob", "Movies"), filter: WebhookFilter{MatchServer: true},
			wantStatus: store.DeliveryIgnored, wantReason: "sent by server other, not by plex (plex-srv); set webhook.match_server: false to accept it"},
		{name: "deny wins over allow", user: "*", body: scrobble("plex-srv", "2", "bob", "Movies"),
			filter:     WebhookFilter{AllowServers: []string{"plex-srv"}, DenyServers: []string{"plex-srv"}},
			wantStatus: store.DeliveryIgnored, wantReason: "server plex-srv is in deny_servers"},
		{name: "excluded library", user: "*", body: scrobble("plex-srv", "2", "bob", "Kids"), libs: plugins.LibraryFilter{Exclude: []string{"kids"}},
			wantStatus: store.DeliveryIgnored, wantReason: "library excluded by the backend's libraries filter"},
		{name: "ignored event keeps the plugin's reason", user: "*", body: map[string]any{"event": "test"},
			wantStatus: store.DeliveryIgnored, wantReason: "test notification"},
		{name: "garbage is rejected with its reason", user: "*", body: "not json",
			wantStatus: store.DeliveryRejected, wantReason: "webhook rejected: body is not JSON: invalid character 'o' in literal null (expecting 'u')"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, tt.filter, tt.libs)
			got := r.deliver(t, tt.user, "plex", tt.body)
			if got.Status != tt.wantStatus || (tt.wantReason != "" && got.Reason != tt.wantReason) {
				t.Errorf("outcome = %s %q, want %s %q", got.Status, got.Reason, tt.wantStatus, tt.wantReason)
			}
			if tt.wantStatus == store.DeliveryRejected && len(got.Body) == 0 {
				t.Error("a rejected delivery lost its body")
			}
			if !tt.wantPush {
				return
			}
			select {
			case <-r.jelly.wrote:
			case <-time.After(10 * time.Second):
				t.Fatal("the play never reached jelly")
			}
			r.jelly.mu.Lock()
			defer r.jelly.mu.Unlock()
			if len(r.jelly.applied) != 1 || r.jelly.applied[0].Kind != plugins.WriteWatched || r.jelly.applied[0].ItemID != "r-imdb:tt0113277" {
				t.Errorf("jelly writes = %+v, want one watched write to the resolved item", r.jelly.applied)
			}
		})
	}
}

// TestItemAddedReachesEveryUser: an addition arrives on alice's token from
// whatever account the server names, yet it is about the server, not alice:
// bob's record is pointed at the new item and his play written to it.
func TestItemAddedReachesEveryUser(t *testing.T) {
	r := newRig(t, WebhookFilter{MatchAccount: true, MatchServer: true}, plugins.LibraryFilter{})
	play := map[string]any{"server": "jelly-srv", "account_id": "bb", "account": "Bob", "event": "scrobble",
		"items": []map[string]any{{"id": "j77", "guid": "imdb:tt0110912", "library": "Movies", "watched": true}}}
	if got := r.deliver(t, "*", "jelly", play); got.Status != store.DeliveryApplied {
		t.Fatalf("bob's play: %s %q", got.Status, got.Reason)
	}
	waitWrite := func() {
		t.Helper()
		select {
		case <-r.plex.wrote:
		case <-time.After(10 * time.Second):
			t.Fatal("no write reached plex")
		}
	}
	waitWrite() // resolved by guid

	added := map[string]any{"server": "plex-srv", "account_id": "3", "account": "guest", "event": "added",
		"items": []map[string]any{{"id": "p77", "guid": "imdb:tt0110912", "library": "Movies"}}}
	got := r.deliver(t, "alice", "plex", added)
	if got.Status != store.DeliveryApplied || got.Reason != "item added: 1 record(s) linked, 1 write(s) queued" {
		t.Fatalf("addition: %s %q", got.Status, got.Reason)
	}
	waitWrite()
	r.plex.mu.Lock()
	defer r.plex.mu.Unlock()
	last := r.plex.applied[len(r.plex.applied)-1]
	if last.ItemID != "p77" || last.AccountID != "2" || last.Kind != plugins.WriteWatched {
		t.Errorf("write after the addition = %+v, want bob's (account 2) play on p77", last)
	}
}

// TestRefreshedHookSeesNewAccounts: the daemon issues webhook tokens from
// the hook, so an account added on a server while keepwatch runs must be in
// the directory when the hook runs.
func TestRefreshedHookSeesNewAccounts(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), store.FileName), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	jelly := &testPlugin{serverID: "jelly-srv", accounts: []plugins.Account{{ID: "aa", Name: "alice"}}}
	plex := &testPlugin{serverID: "plex-srv", accounts: []plugins.Account{{ID: "1", Name: "Alice"}}}
	dir := NewDirectory(nil, true) // auto_map: a name on both servers is one user
	var seen [][]string
	p := New(Options{Store: st, Engine: engine.New(st, engine.DefaultConfig(), zerolog.Nop()), Directory: dir,
		Logger: zerolog.Nop(), Backends: []*Backend{{Name: "jelly", Type: "test", Client: jelly}, {Name: "plex", Type: "test", Client: plex}},
		Hooks: Hooks{Refreshed: func() { seen = append(seen, dir.UsersOn("jelly")) }}})
	p.Refresh(t.Context())
	jelly.accounts = append(jelly.accounts, plugins.Account{ID: "cc", Name: "carol"})
	plex.accounts = append(plex.accounts, plugins.Account{ID: "3", Name: "Carol"})
	p.Refresh(t.Context())
	if diff := cmp.Diff([][]string{{"alice"}, {"alice", "carol"}}, seen); diff != "" {
		t.Errorf("users on jelly at each refresh (-want +got):\n%s", diff)
	}
}

func TestDirectory(t *testing.T) {
	accounts := map[string][]plugins.Account{
		"plex":  {{ID: "1", Name: "Alice B."}, {ID: "2", Name: "bob"}, {ID: "3", Name: "guest"}, {ID: "4", Name: "Carol"}},
		"jelly": {{ID: "aa", Name: "alice-b"}, {ID: "bb", Name: "Bob"}, {ID: "cc", Name: "carol"}, {ID: "dd", Name: "dave"}},
	}
	d := NewDirectory([]UserSpec{{Name: "carol", Accounts: map[string]string{"jelly": "dd"}}}, true)
	d.Rebuild(accounts)
	want := []Mapping{
		{User: "aliceb", Backend: "jelly", AccountID: "aa", AccountName: "alice-b", Source: "auto"},
		{User: "aliceb", Backend: "plex", AccountID: "1", AccountName: "Alice B.", Source: "auto"},
		{User: "bob", Backend: "jelly", AccountID: "bb", AccountName: "Bob", Source: "auto"},
		{User: "bob", Backend: "plex", AccountID: "2", AccountName: "bob", Source: "auto"},
		{User: "carol", Backend: "jelly", AccountID: "dd", AccountName: "dave", Source: "config"}, // explicit wins over the name
		{User: "carol", Backend: "plex", AccountID: "4", AccountName: "Carol", Source: "auto"},
	}
	if diff := cmp.Diff(want, d.Mappings()); diff != "" {
		t.Errorf("mappings (-want +got):\n%s", diff)
	}
	wantUnmapped := []Unmapped{{Backend: "jelly", AccountID: "cc", AccountName: "carol"}, {Backend: "plex", AccountID: "3", AccountName: "guest"}}
	if diff := cmp.Diff(wantUnmapped, d.Unmapped()); diff != "" {
		t.Errorf("unmapped (-want +got):\n%s", diff)
	}
	if u, ok := d.UserOf("plex", "", "ALICE b"); !ok || u != "aliceb" {
		t.Errorf("UserOf by name = %q %v", u, ok)
	}

	off := NewDirectory([]UserSpec{{Name: "bob", Accounts: map[string]string{"plex": "bob", "jelly": "nobody"}}}, false)
	off.Rebuild(accounts)
	if diff := cmp.Diff([]Mapping{{User: "bob", Backend: "plex", AccountID: "2", AccountName: "bob", Source: "config"}}, off.Mappings()); diff != "" {
		t.Errorf("auto_map off (-want +got):\n%s", diff)
	}
}
