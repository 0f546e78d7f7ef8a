package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var update = flag.Bool("update", false, "rewrite testdata/bad/*.golden from the current output")

// testEnv is the environment every test file is loaded with. Every secret
// value holds "SECRET" so tests can prove no message leaks one.
var testEnv = map[string]string{
	"PLEX_TOKEN":       "SECRET-plex-from-env",
	"JELLYFIN_API_KEY": "SECRET-jellyfin-from-env",
	"EMBY_API_KEY":     "SECRET-emby-from-env",
	"TAUTULLI_API_KEY": "SECRET-tautulli-from-env",
	"EMPTY":            "",
}

func lookupTestEnv(name string) (string, bool) {
	v, ok := testEnv[name]
	return v, ok
}

// equateConfigs compares configs treating nil and empty slices and maps alike.
var equateConfigs = cmpopts.EquateEmpty()

func TestLoadGood(t *testing.T) {
	tests := []struct {
		file string
		opts []Option
		want func(c *Config)
	}{
		{file: "empty.yaml", want: func(c *Config) {}},
		{file: "nulls.yaml", want: func(c *Config) {}},
		{file: "design.yaml", want: func(c *Config) {
			c.Server.PublicURL = "http://keepwatch.lan:8686"
			plex := defaultBackend()
			plex.Name, plex.Type, plex.URL = "plex-home", "plex", "http://192.168.1.10:32400"
			plex.Token = NewSecret("SECRET-plex-from-env")
			plex.Libraries.Exclude = []string{"Kids"}
			jelly := defaultBackend()
			jelly.Name, jelly.Type, jelly.URL = "jelly", "jellyfin", "http://jellyfin:8096"
			jelly.Token = NewSecret("SECRET-jellyfin-from-env")
			c.Backends = []Backend{plex, jelly}
			c.Users.List = []User{{Name: "alice", Accounts: map[string]string{"plex-home": "alice", "jelly": "Alice"}}}
		}},
		{file: "everything.yaml", want: func(c *Config) {
			c.Server = Server{
				Listen:          "127.0.0.1:9000",
				PublicURL:       "https://kw.example.net",
				DataDir:         "/var/lib/keepwatch",
				APIKey:          NewSecret("SECRET-api-key-from-file"),
				APIKeyFile:      "testdata/secrets/api.key",
				PluginsDir:      "/usr/lib/keepwatch/plugins",
				WebhookMaxBytes: 10 << 20,
			}
			c.Backends = []Backend{
				{
					Name: "plex_home", Type: "plex", URL: "https://plex.lan:32400",
					Token: NewSecret("SECRET-plex-from-file"), TokenFile: "testdata/secrets/plex.token",
					Libraries: Libraries{Include: []string{"Movies", "TV Shows"}, Exclude: []string{"Kids"}},
					Options:   map[string]string{"verify_tls": "false", "page_size": "200", "label": ""},
				},
				{
					Name: "Emby-2", Type: "emby", URL: "http://emby:8096", Token: NewSecret("SECRET-emby-from-env"),
					Import: true, Export: true, Webhook: WebhookFilter{MatchAccount: true, MatchServer: true},
				},
				{
					Name: "tautulli", Type: "tautulli", URL: "http://tautulli:8181", Token: NewSecret("literal-SECRET-tautulli"),
					Import: true, Export: false, Webhook: WebhookFilter{MatchAccount: true, MatchServer: true},
				},
			}
			c.Users = Users{AutoMap: false, List: []User{
				{Name: "alice", Accounts: map[string]string{"plex_home": "alice", "Emby-2": "7b9d1c2e"}},
				{Name: "bob", Accounts: map[string]string{"tautulli": "bob"}},
			}}
			c.Sync = Sync{MinProgress: 90 * time.Second, WatchedPercent: 85, RewatchResets: true, Guard: Guard{MaxFraction: 1, MinItems: 0}}
			c.Match.TitleYear = true
			c.Tasks = Tasks{
				Import:     Task{Schedule: "*/15 * * * *", Enabled: false},
				ImportFull: Task{Schedule: "@weekly", Enabled: true},
				Export:     Task{Schedule: "@every 30m", Enabled: true},
				Backup:     BackupTask{Task: Task{Schedule: "CRON_TZ=Europe/Paris 30 2 * * *", Enabled: true}, Keep: 3},
				Prune:      PruneTask{Task: Task{Schedule: "", Enabled: false}, KeepDays: 30},
			}
		}},
		{file: "escape.yaml", want: func(c *Config) {
			b := defaultBackend()
			b.Name, b.Type, b.URL = "plex", "plex", "http://plex:32400"
			b.Token = NewSecret("pa$$word-${NOT_EXPANDED}-SECRET-plex-from-env-$HOME")
			c.Backends = []Backend{b}
		}},
		{file: "external.yaml", opts: []Option{WithBackendTypes("kodi")}, want: func(c *Config) {
			kodi := defaultBackend()
			kodi.Name, kodi.Type, kodi.URL = "kodi-living", "kodi", "http://kodi.lan:8080"
			taut := defaultBackend()
			taut.Name, taut.Type, taut.URL, taut.Export = "tautulli", "tautulli", "http://tautulli:8181", false
			taut.Token = NewSecret("SECRET-tautulli-from-env")
			c.Backends = []Backend{kodi, taut}
		}},
		{file: "external.yaml", opts: []Option{WithBackendTypesFrom(func(dir string) ([]string, error) {
			if dir != "./plugins" {
				return nil, errors.New("unexpected plugins_dir " + dir)
			}
			return []string{"kodi"}, nil
		})}, want: func(c *Config) {
			kodi := defaultBackend()
			kodi.Name, kodi.Type, kodi.URL = "kodi-living", "kodi", "http://kodi.lan:8080"
			taut := defaultBackend()
			taut.Name, taut.Type, taut.URL, taut.Export = "tautulli", "tautulli", "http://tautulli:8181", false
			taut.Token = NewSecret("SECRET-tautulli-from-env")
			c.Backends = []Backend{kodi, taut}
		}},
		{file: "anchors.yaml", want: func(c *Config) {
			a, b := defaultBackend(), defaultBackend()
			a.Name, a.Type, a.URL = "jelly-a", "jellyfin", "http://jelly-a:8096"
			b.Name, b.Type, b.URL = "jelly-b", "jellyfin", "http://jelly-b:8096"
			a.Token, b.Token = NewSecret("SECRET-jellyfin-from-env"), NewSecret("SECRET-jellyfin-from-env")
			a.Libraries.Exclude = []string{"Kids", "Home Videos"}
			b.Libraries.Exclude = []string{"Kids", "Home Videos"}
			c.Backends = []Backend{a, b}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := Load(filepath.Join("testdata", "good", tt.file), append([]Option{WithLookupEnv(lookupTestEnv)}, tt.opts...)...)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			want := Defaults()
			tt.want(want)
			if diff := cmp.Diff(want, got, equateConfigs); diff != "" {
				t.Errorf("config mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLoadBad loads every testdata/bad/*.yaml and compares the error with its
// .golden file (go test -run TestLoadBad -update rewrites them).
func TestLoadBad(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "bad", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad cases found: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			c, err := Load(file, WithLookupEnv(lookupTestEnv))
			if err == nil {
				t.Fatalf("Load succeeded, want errors; config:\n%s", c)
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error is %T, want config.Errors: %v", err, err)
			}
			got := err.Error() + "\n"
			if strings.Contains(got, "SECRET") {
				t.Errorf("error output leaks a secret:\n%s", got)
			}
			for _, e := range errs {
				if e.Line == 0 {
					t.Errorf("problem without a line: %v", e)
				}
				if !strings.HasPrefix(e.Error(), file+":") {
					t.Errorf("problem does not start with the file name: %v", e)
				}
			}
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden (run with -update to create it): %v", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("errors mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "keepwatch.yaml"))
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want one wrapping ErrNotFound", err)
	}
	var errs Errors
	if errors.As(err, &errs) {
		t.Errorf("a missing file must not be reported as an invalid config: %v", err)
	}
}

func TestLoadUsesProcessEnvironment(t *testing.T) {
	t.Setenv("KW_TEST_LISTEN", "127.0.0.1:7777")
	c, err := Parse("env.yaml", []byte("server:\n  listen: ${KW_TEST_LISTEN}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.Listen != "127.0.0.1:7777" {
		t.Errorf("listen = %q, want the environment's value", c.Server.Listen)
	}
}

func TestTypeLookupFailure(t *testing.T) {
	_, err := Parse("k.yaml", []byte("server:\n  plugins_dir: /nope\n"), WithBackendTypesFrom(func(string) ([]string, error) {
		return nil, errors.New("permission denied")
	}))
	want := `k.yaml:2: server.plugins_dir: cannot list plugins in "/nope": permission denied (check the directory)`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

func TestValidate(t *testing.T) {
	if err := Defaults().Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	c := Defaults()
	c.Backends = []Backend{{Name: "p", Type: "plex", URL: "http://plex:32400", Export: true}}
	c.Sync.WatchedPercent = 101
	err := c.Validate()
	want := "backends[0].token: required for type plex (set token, for example token: \"${PLEX_TOKEN}\", or token_file)\n" +
		"sync.watched_percent: 101 is out of range (write a percentage from 1 to 100, like 90)"
	if err == nil || err.Error() != want {
		t.Errorf("err =\n%v\nwant\n%s", err, want)
	}
}

func TestExpand(t *testing.T) {
	env := func(name string) (string, bool) {
		v, ok := map[string]string{"A": "x", "B_2": "y$", "E": ""}[name]
		return v, ok
	}
	tests := []struct {
		in, want, err string
	}{
		{in: "plain", want: "plain"},
		{in: "${A}", want: "x"},
		{in: "<${A}${B_2}>", want: "<xy$>"},
		{in: "${E}", want: ""},
		{in: "$${A}", want: "${A}"},
		{in: "$$${A}", want: "$${A}"}, // a lone "$", then the escape
		{in: "$A $ $$ {A}", want: "$A $ $$ {A}"},
		{in: "${MISSING}", err: "environment variable MISSING is not set (set it before starting keepwatch, or write $${ for a literal ${)"},
		{in: "${M1}${A}${M2}", err: "environment variables M1, M2 are not set (set them before starting keepwatch, or write $${ for a literal ${)"},
		{in: "${A", err: "unterminated ${ (close it with }, or write $${ for a literal ${)"},
		{in: "${1A}", err: `"${1A}" is not an environment variable name (use letters, digits and _, like ${PLEX_TOKEN}; write $${ for a literal ${)`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := expand(tt.in, env)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err = %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("expand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}
