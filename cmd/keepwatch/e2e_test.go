package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// These tests build the real binary and run it as a user would.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// keepwatchBinary builds ./cmd/keepwatch once per test run.
func keepwatchBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "keepwatch-e2e-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "keepwatch")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// syncBuffer is a bytes.Buffer safe to read while a process writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// process is a running keepwatch.
type process struct {
	cmd    *exec.Cmd
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan struct{}
	err    error // Wait's result, once done is closed
}

func start(t *testing.T, dir string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(keepwatchBinary(t), args...), stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Dir = dir
	p.cmd.Env = append(os.Environ(), envConfigPath+"=") // the test's own flags decide
	p.cmd.Stdout = p.stdout
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// wait returns the exit status, failing the test if the process has not
// exited within limit (a guard against hanging, not a speed measurement).
func (p *process) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(limit):
		t.Fatalf("process still running after %s; stderr:\n%s", limit, p.stderr)
	}
	var exit *exec.ExitError
	if errors.As(p.err, &exit) {
		return exit.ExitCode()
	}
	if p.err != nil {
		t.Fatalf("wait: %v", p.err)
	}
	return 0
}

func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// waitHealthy polls /healthz until it answers 200 or the process exits.
func waitHealthy(t *testing.T, p *process, base string) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	deadline := time.After(30 * time.Second)
	for {
		resp, err := client.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-p.done:
			t.Fatalf("serve exited before answering /healthz; stderr:\n%s", p.stderr)
		case <-deadline:
			t.Fatalf("/healthz never answered 200; stderr:\n%s", p.stderr)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func TestE2EServe(t *testing.T) {
	dir := t.TempDir()
	addr := freeLoopbackAddr(t)
	writeFile(t, filepath.Join(dir, "keepwatch.yaml"), fmt.Sprintf("server:\n  listen: %q\n  data_dir: ./data\n", addr))

	p := start(t, dir, "serve")
	base := "http://" + addr
	waitHealthy(t, p, base)

	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var ready struct {
		Status string `json:"status"`
		Checks []struct {
			Name, Status string
		} `json:"checks"`
	}
	err = json.NewDecoder(resp.Body).Decode(&ready)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || ready.Status != "ok" || len(ready.Checks) != 2 ||
		ready.Checks[0].Name != "store" || ready.Checks[1].Name != "plugins" {
		t.Errorf("/readyz = %d %+v (%v), want 200 ok with the store and plugins checks", resp.StatusCode, ready, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "keepwatch.db")); err != nil {
		t.Errorf("database not created in data_dir: %v", err)
	}

	// A second daemon on the same data_dir must give up on the lock, saying so.
	other := filepath.Join(dir, "other.yaml")
	writeFile(t, other, fmt.Sprintf("server:\n  listen: %q\n  data_dir: ./data\n", freeLoopbackAddr(t)))
	second := start(t, dir, "--config", other, "serve")
	if code := second.wait(t, 30*time.Second); code == 0 {
		t.Errorf("second serve on the same data_dir exited 0")
	}
	if !strings.Contains(second.stderr.String(), "database is in use by another process") {
		t.Errorf("second serve does not name the lock:\n%s", second.stderr)
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Errorf("serve exited %d after SIGTERM, want 0; stderr:\n%s", code, p.stderr)
	}
	// Not a terminal: logs are JSON lines tagged with their component.
	logs := p.stderr.String()
	for _, want := range []string{`"component":"serve"`, `"message":"keepwatch started"`, `"message":"keepwatch stopped"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("log line is not JSON: %s", line)
		}
	}
}

func TestE2EInvalidConfig(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "keepwatch.yaml"), "backends:\n  - name: plex\n    type: plexx\n    url: http://plex:32400\n")
	p := start(t, dir, "serve")
	if code := p.wait(t, 30*time.Second); code != exitUsage {
		t.Errorf("exit %d, want 2", code)
	}
	want := `keepwatch.yaml:3: backends[0].type: unknown type "plexx" (known: plex, jellyfin, emby, tautulli)`
	if !strings.Contains(p.stderr.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, p.stderr)
	}
}

func TestE2EInit(t *testing.T) {
	dir := t.TempDir()
	first := start(t, dir, "init")
	if code := first.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("init exit %d: %s", code, first.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "keepwatch.yaml")); err != nil {
		t.Fatalf("init wrote nothing: %v", err)
	}
	again := start(t, dir, "init")
	if code := again.wait(t, 30*time.Second); code != exitFailure {
		t.Errorf("second init exit %d, want 1", code)
	}
	if !strings.Contains(again.stderr.String(), "already exists") {
		t.Errorf("second init does not say why:\n%s", again.stderr)
	}
}
