package main

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keepwatch/keepwatch/api"
	"github.com/keepwatch/keepwatch/core/store"
	"github.com/keepwatch/keepwatch/tasks"
)

// wallClock matches a time shown in a table; a backend check stamps the
// real clock.
var wallClock = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d`)

// TestCLITables runs the listing commands against the rig and compares
// their tables with golden files.
func TestCLITables(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"backends-list", []string{"backends", "list"}},
		{"backends-accounts", []string{"backends", "accounts", "jelly"}},
		{"users-list", []string{"users", "list"}},
		{"webhooks-list", []string{"webhooks", "list"}},
		{"webhooks-deliveries", []string{"webhooks", "deliveries", "--backend", "jelly", "--limit", "5"}},
		{"state-list", []string{"state", "list"}},
		{"state-list-filtered", []string{"state", "list", "--user", "alice", "--watched=false"}},
		{"state-list-paged", []string{"state", "list", "--limit", "1"}},
		{"state-show", []string{"state", "show", "1"}},
		{"state-show-absent", []string{"state", "show", "2"}},
		{"runs-list", []string{"runs", "list"}},
		{"runs-show-held", []string{"runs", "show", "2"}},
	}
	rig := newCLIRig(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runInProcess(t, rig.env, tt.args...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if tt.name == "backends-list" {
				out = wallClock.ReplaceAllString(out, "YYYY-MM-DD hh:mm:ss")
			}
			compareCLIGolden(t, tt.name, out)
		})
	}
}

// TestCLIJSON checks --json prints the API's answer: webhooks list in the
// shape DESIGN.md promises, and the others decodable into the API's types.
func TestCLIJSON(t *testing.T) {
	rig := newCLIRig(t)
	code, out, errOut := runInProcess(t, rig.env, "webhooks", "list", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var hooks []map[string]string
	if err := json.Unmarshal([]byte(out), &hooks); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := []map[string]string{
		{"user": "alice", "backend": "jelly", "url": "http://keepwatch.lan:8686/webhook/jellyalice"},
		{"user": "*", "backend": "plex-home", "url": "http://keepwatch.lan:8686/webhook/plexall"},
	}
	if diff := cmp.Diff(want, hooks); diff != "" {
		t.Errorf("webhooks list --json (-want +got):\n%s", diff)
	}

	code, out, errOut = runInProcess(t, rig.env, "users", "list", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var users api.Users
	if err := json.Unmarshal([]byte(out), &users); err != nil {
		t.Fatal(err)
	}
	wantUsers := api.Users{
		Backends: []string{"jelly", "plex-home"},
		Users: []api.User{
			{Name: "alice", Accounts: map[string]api.UserAccount{
				"jelly":     {AccountID: "ja", AccountName: "alice", Source: "config"},
				"plex-home": {AccountID: "1", AccountName: "Alice", Source: "config"}}},
			{Name: "bob", Accounts: map[string]api.UserAccount{
				"jelly":     {AccountID: "jb", AccountName: "bob", Source: "auto"},
				"plex-home": {AccountID: "7", AccountName: "Bob", Source: "auto"}}},
		},
	}
	wantUsers.Unmapped = users.Unmapped // compared below
	if diff := cmp.Diff(wantUsers, users); diff != "" {
		t.Errorf("users list --json (-want +got):\n%s", diff)
	}
	if len(users.Unmapped) != 1 || users.Unmapped[0].AccountName != "carol" {
		t.Errorf("unmapped = %+v, want carol", users.Unmapped)
	}

	for _, args := range [][]string{{"backends", "list", "--json"}, {"state", "list", "--json"}, {"runs", "list", "--json"},
		{"runs", "show", "1", "--json"}, {"state", "show", "2", "--json"}, {"webhooks", "deliveries", "--json"}, {"backends", "accounts", "jelly", "--json"}} {
		code, out, errOut := runInProcess(t, rig.env, args...)
		if code != exitOK || !json.Valid([]byte(out)) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
}

// TestCLICommands runs the commands that act, checking exit status and what
// they print.
func TestCLICommands(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    string // substring of stdout
		wantErr    string // substring of stderr
		wantReq    map[string]tasks.Request
		busy       map[string]uint64 // tasks running already, with their run
		afterCheck func(t *testing.T, rig *cliRig)
	}{
		{name: "backends test ok", args: []string{"backends", "test", "plex-home"},
			wantOut: "plex-home: reachable: Home (plex 1.41.0), server id abc\n"},
		{name: "backends test unreachable", args: []string{"backends", "test", "jelly"}, wantCode: exitFailure,
			wantErr: "keepwatch: jelly is not reachable: connection refused\n"},
		{name: "accounts of unknown backend", args: []string{"backends", "accounts", "nope"}, wantCode: exitFailure,
			wantErr: `keepwatch: backend "nope" is not a configured backend (the backends are: jelly, plex-home)`},
		{name: "rotate", args: []string{"webhooks", "rotate", "alice", "jelly"},
			wantOut: "new webhook URL for alice on jelly (give it to the server; the old one no longer works):\nhttp://keepwatch.lan:8686/webhook/",
			afterCheck: func(t *testing.T, rig *cliRig) {
				if _, found, _ := rig.st.LookupToken("jellyalice"); found {
					t.Error("the old token still works")
				}
			}},
		{name: "rotate unknown user", args: []string{"webhooks", "rotate", "zed", "jelly"}, wantCode: exitFailure,
			wantErr: `keepwatch: user "zed" is not a known user`},
		{name: "mark unwatched", args: []string{"state", "mark", "1", "--unwatched"},
			wantOut: "record 1 (alice, Alien (1979)) marked unwatched by run 3; 2 write(s) queued (undo: keepwatch runs undo 3)\n",
			afterCheck: func(t *testing.T, rig *cliRig) {
				code, out, _ := runInProcess(t, rig.env, "state", "show", "1", "--json")
				var rec api.Record
				if err := json.Unmarshal([]byte(out), &rec); code != exitOK || err != nil || rec.Watched {
					t.Errorf("after mark: exit %d, %v, watched %v", code, err, rec.Watched)
				}
			}},
		{name: "mark needs a flag", args: []string{"state", "mark", "1"}, wantCode: exitUsage,
			wantErr: "give exactly one of --watched and --unwatched"},
		{name: "mark missing record", args: []string{"state", "mark", "9", "--watched"}, wantCode: exitFailure,
			wantErr: "keepwatch: record 9 does not exist"},
		{name: "show bad id", args: []string{"state", "show", "x"}, wantCode: exitFailure,
			wantErr: `keepwatch: id "x" is not a record id (write a positive number, like 12)`},
		{name: "approve held", args: []string{"runs", "approve", "2"}, wantOut: "run 2 approved: observed 300, held 40\n"},
		{name: "approve not held", args: []string{"runs", "approve", "1"}, wantCode: exitFailure,
			wantErr: "keepwatch: run 1 is ok, not held: only a run held by the guard can be approved\n"},
		{name: "discard held", args: []string{"runs", "discard", "2"}, wantOut: "run 2 discarded: observed 300, held 40\n"},
		{name: "undo", args: []string{"runs", "undo", "1"}, wantOut: "run 1 undone by run 3: 1 record(s) restored, 0 changed since and left alone\n"},
		{name: "import ok", args: []string{"import", "--backend", "jelly", "--backend", "plex-home", "--user", "alice", "--dry-run"},
			wantOut: "run 3 import (dry run) ok: observed 30, changed 3, queued 3\n",
			wantErr: "\rrun 3 import (dry run): ok  observed 30  changed 3  queued 3  written 0",
			wantReq: map[string]tasks.Request{"import": {Backends: []string{"jelly", "plex-home"}, User: "alice", DryRun: true}}},
		{name: "import full held", args: []string{"import", "--full"}, wantCode: exitHeld,
			wantOut: "run 3 import_full held: observed 30, changed 3, queued 3\n",
			wantErr: "keepwatch: run 3 is held by the guard: too many items flipped on jelly; look with `keepwatch runs show 3`, then `keepwatch runs approve 3` or `keepwatch runs discard 3`\n",
			wantReq: map[string]tasks.Request{"import_full": {Full: true}}},
		{name: "export failed", args: []string{"export", "--full"}, wantCode: exitFailure,
			wantErr: "keepwatch: run 3 export (full) failed: plex-home: write: connection refused\n",
			wantReq: map[string]tasks.Request{"export": {Full: true}}},
		{name: "import no wait", args: []string{"import", "--no-wait"}, wantOut: "3\n"},
		{name: "import unknown backend", args: []string{"import", "--backend", "nope"}, wantCode: exitFailure,
			wantErr: `keepwatch: backends "nope" is not a configured backend`},
		{name: "backup", args: []string{"backup"}, wantOut: "run 3 backup ok: observed 30, changed 3, queued 3\n"},
		{name: "import while the import at start runs follows it", args: []string{"import"}, busy: map[string]uint64{"import": 1},
			wantOut: "run 1 import ok: observed 3, created 3, queued 2, written 2\n",
			wantErr: "import is running already (run 1): following it\n"},
		{name: "a narrower import while one runs is refused", args: []string{"import", "--user", "alice"}, busy: map[string]uint64{"import": 1},
			wantCode: exitFailure, wantErr: "keepwatch: import: task is already running (run 1): wait for it to end"},
		{name: "wrong key", args: []string{"runs", "list", "--api-key", "nope"}, wantCode: exitFailure,
			wantErr: "keepwatch: missing or wrong API key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rig := newCLIRig(t)
			rig.tasks.busy = tt.busy
			code, out, errOut := runInProcess(t, rig.env, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr %q", code, tt.wantCode, errOut)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("stdout %q does not hold %q", out, tt.wantOut)
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("stderr %q does not hold %q", errOut, tt.wantErr)
			}
			if tt.wantReq != nil {
				rig.tasks.wg.Wait()
				if diff := cmp.Diff(tt.wantReq, rig.tasks.got); diff != "" {
					t.Errorf("task requests (-want +got):\n%s", diff)
				}
			}
			if tt.afterCheck != nil {
				tt.afterCheck(t, rig)
			}
		})
	}
}

// TestCLIJSONRun checks import --json prints the finished run.
func TestCLIJSONRun(t *testing.T) {
	rig := newCLIRig(t)
	code, out, errOut := runInProcess(t, rig.env, "import", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var run store.Run
	if err := json.Unmarshal([]byte(out), &run); err != nil {
		t.Fatal(err)
	}
	if run.ID != 3 || run.Status != store.RunOK || run.Counts["observed"] != 30 {
		t.Errorf("run = %+v", run)
	}
}

// TestCLIFindsTheDaemon checks where the address and key come from: flags
// over the environment over the config file (its server section only), and
// the errors when that fails.
func TestCLIFindsTheDaemon(t *testing.T) {
	rig := newCLIRig(t)
	_, port, err := net.SplitHostPort(rig.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFile := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	keyDir := filepath.Join(dir, "data")
	if err := os.MkdirAll(keyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile("data/api.key", rigKey+"\n")
	withKey := writeFile("with-key.yaml", "backends:\n  - name: plex-home\n    type: plex\n    url: http://plex:32400\n    token: ${UNSET_PLEX_TOKEN}\n"+
		"server:\n  listen: \"127.0.0.1:"+port+"\"\n  api_key: ${KW_KEY}\nusers:\n  list: [{name: x, accounts: {nope: y}}]\n")
	keyFile := writeFile("key-file.yaml", "server:\n  listen: \":"+port+"\"\n  data_dir: "+keyDir+"\n")
	noKey := writeFile("no-key.yaml", "server:\n  listen: \":"+port+"\"\n  data_dir: "+dir+"/empty\n")
	badServer := writeFile("bad.yaml", "# comment\nserver:\n  listen: \":"+port+"\"\n  lisen: x\n")

	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"config api_key from env, other sections ignored", map[string]string{"KW_KEY": rigKey}, []string{"--config", withKey}, exitOK, ""},
		{"config via KEEPWATCH_CONFIG", map[string]string{"KW_KEY": rigKey, envConfigPath: withKey}, nil, exitOK, ""},
		{"key generated into data_dir", nil, []string{"--config", keyFile}, exitOK, ""},
		{"flags beat the environment", map[string]string{envAddr: "http://127.0.0.1:1", envAPIKey: "wrong"},
			[]string{"--addr", rig.srv.URL, "--api-key", rigKey}, exitOK, ""},
		{"address without scheme", map[string]string{envAPIKey: rigKey}, []string{"--addr", "127.0.0.1:" + port}, exitOK, ""},
		{"no key anywhere", nil, []string{"--config", noKey}, exitFailure,
			"keepwatch: no API key: cannot read " + dir + "/empty/api.key: no such file or directory (pass --api-key or set KEEPWATCH_API_KEY, set server.api_key in " + noKey + ", or start `keepwatch serve` once so it writes the key)\n"},
		{"bad server section", map[string]string{envAPIKey: rigKey}, []string{"--config", badServer}, exitUsage, "bad.yaml:4"},
		{"nothing answers", map[string]string{envAddr: "http://127.0.0.1:1", envAPIKey: rigKey}, nil, exitFailure,
			"keepwatch: cannot reach keepwatch at http://127.0.0.1:1: is `keepwatch serve` running? ("},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(slices.Clone(tt.args), "runs", "list", "--json")
			code, out, errOut := runInProcess(t, tt.env, args...)
			if code != tt.wantCode || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, tt.wantCode, tt.wantErr)
			}
			if tt.wantCode == exitOK && !json.Valid([]byte(out)) {
				t.Errorf("stdout %q is not JSON", out)
			}
		})
	}
}

func TestListenURL(t *testing.T) {
	for listen, want := range map[string]string{
		":8686":           "http://127.0.0.1:8686",
		"0.0.0.0:9000":    "http://127.0.0.1:9000",
		"[::]:8686":       "http://[::1]:8686",
		"keepwatch.lan:1": "http://keepwatch.lan:1",
		"10.0.0.5:8686":   "http://10.0.0.5:8686",
	} {
		got, err := listenURL(listen)
		if err != nil || got != want {
			t.Errorf("listenURL(%q) = %q, %v; want %q", listen, got, err, want)
		}
	}
	if _, err := listenURL("8686"); err == nil || !strings.Contains(err.Error(), `server.listen "8686" is not host:port`) {
		t.Errorf("listenURL(8686) = %v", err)
	}
}

func TestServerSection(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"keeps server, blanks the rest with their lines",
			"backends:\n  - name: a\n    token: ${X}\n# note\nserver:\n  listen: \":1\"\nusers:\n  auto_map: true\n",
			"\n\n\n\nserver:\n  listen: \":1\"\n\n\n"},
		{"no server section", "users:\n  auto_map: true", "\n"},
		{"flow style is kept whole", "{server: {listen: \":1\"}, users: {auto_map: true}}\n", "{server: {listen: \":1\"}, users: {auto_map: true}}\n"},
		{"not yaml is kept whole", "server: [\n", "server: [\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(serverSection([]byte(tt.in))); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
