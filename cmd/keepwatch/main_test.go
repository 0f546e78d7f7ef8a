package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/keepwatch/keepwatch/config"
	"github.com/rs/zerolog"
)

// runInProcess runs the command line with env as the whole environment.
func runInProcess(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	getenv := func(k string) string { return env[k] }
	code = run(context.Background(), args, getenv, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestVersion(t *testing.T) {
	code, out, _ := runInProcess(t, nil, "version")
	want := "keepwatch " + buildVersion() + "\n" + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	if code != exitOK || out != want {
		t.Errorf("version = %d %q, want 0 %q", code, out, want)
	}
	if !strings.HasPrefix(out, "keepwatch dev") {
		t.Errorf("an unstamped build should call itself dev: %q", out)
	}
}

func TestInitWritesDefaults(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keepwatch.yaml")
	code, out, errOut := runInProcess(t, nil, "--config", path, "init")
	if code != exitOK {
		t.Fatalf("init exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "wrote "+path) {
		t.Errorf("init output %q does not say what it wrote", out)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("mode = %o, want 600 (the file will hold tokens)", perm)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("the written file does not load: %v", err)
	}
	if diff := cmp.Diff(config.Defaults(), cfg, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("the written file differs from the defaults (-defaults +file):\n%s", diff)
	}
}

func TestInitRefusesToOverwrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keepwatch.yaml")
	if err := os.WriteFile(path, []byte("server: {listen: \":9999\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runInProcess(t, nil, "init", "--path", path)
	if code != exitFailure || !strings.Contains(errOut, path+" already exists; not overwriting it") {
		t.Errorf("init over an existing file: exit %d, stderr %q; want 1 and a refusal", code, errOut)
	}
	if got, _ := os.ReadFile(path); string(got) != "server: {listen: \":9999\"}\n" {
		t.Errorf("existing file was changed: %q", got)
	}
	code, _, errOut = runInProcess(t, nil, "init", "--path", path, "--force")
	if code != exitOK {
		t.Fatalf("init --force: exit %d: %s", code, errOut)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, config.Starter()) {
		t.Errorf("--force did not replace the file with the starter")
	}
}

func TestConfigPathFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	fromEnv := filepath.Join(dir, "env.yaml")
	fromFlag := filepath.Join(dir, "flag.yaml")
	env := map[string]string{envConfigPath: fromEnv}

	if code, _, errOut := runInProcess(t, env, "init"); code != exitOK {
		t.Fatalf("init: %d %s", code, errOut)
	}
	if _, err := os.Stat(fromEnv); err != nil {
		t.Errorf("init did not write $%s: %v", envConfigPath, err)
	}
	if code, _, errOut := runInProcess(t, env, "--config", fromFlag, "init"); code != exitOK {
		t.Fatalf("init --config: %d %s", code, errOut)
	}
	if _, err := os.Stat(fromFlag); err != nil {
		t.Errorf("--config did not win over $%s: %v", envConfigPath, err)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"unknown flag", []string{"serve", "--frob"}, "unknown flag: --frob"},
		{"unexpected argument", []string{"version", "extra"}, `unknown command "extra"`},
		{"bad log level", []string{"--log-level", "loud", "version"}, `--log-level "loud" is not one of debug, info, warn, error`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := runInProcess(t, nil, tt.args...)
			if code != exitUsage || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errOut, tt.want)
			}
		})
	}
}

func TestServeInvalidConfigExits2(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keepwatch.yaml")
	bad := "server:\n  listen: \":8686\"\nbackends:\n  - name: plex\n    type: plexx\n    url: http://plex:32400\n    token: SECRET-token\n" +
		"  - name: tautulli\n    type: tautulli\n    url: http://tautulli:8181\n    token: SECRET-key\n    export: true\n" +
		"sync:\n  watched_percent: 0\n"
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runInProcess(t, nil, "--config", path, "serve")
	if code != exitUsage {
		t.Errorf("exit %d, want 2", code)
	}
	for _, want := range []string{
		path + `:5: backends[0].type: unknown type "plexx" (known: plex, jellyfin, emby, tautulli)`,
		path + ":12: backends[1].export: Tautulli cannot be written to: it only reports plays (set export: false)",
		path + ":14: sync.watched_percent: 0 is out of range",
		"invalid configuration (3 problems)",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut, "SECRET") {
		t.Errorf("stderr leaks the token:\n%s", errOut)
	}
}

func TestServeWithoutConfigStartsOnDefaults(t *testing.T) {
	var logs bytes.Buffer
	path := filepath.Join(t.TempDir(), "keepwatch.yaml")
	cfg, err := loadServeConfig(path, zerolog.New(&logs))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(config.Defaults(), cfg, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("not the defaults:\n%s", diff)
	}
	if !strings.Contains(logs.String(), `"level":"info"`) || !strings.Contains(logs.String(), "run `keepwatch init`, then edit "+path) {
		t.Errorf("log does not say, at info, how to add a backend: %s", logs.String())
	}
}

func TestLoadServeConfigUnreadable(t *testing.T) {
	dir := t.TempDir() // a directory where a file is expected: a runtime failure, not a config error
	_, err := loadServeConfig(dir, zerolog.Nop())
	var ee *exitError
	if err == nil || errors.As(err, &ee) {
		t.Errorf("err = %v; want a plain error (exit 1)", err)
	}
}
