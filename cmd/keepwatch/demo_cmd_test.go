package main

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// demoLimit bounds a demo run: a guard against a hang, not a speed test.
const demoLimit = 3 * time.Minute

func startDemo(t *testing.T, args ...string) *process {
	t.Helper()
	return start(t, t.TempDir(), append([]string{"demo", "--listen", freeLoopbackAddr(t)}, args...)...)
}

// assertContains reports each of wants that out lacks.
func assertContains(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

var (
	demoConfigLine = regexp.MustCompile(`config (\S+)/keepwatch\.yaml`)
	demoRecordLine = regexp.MustCompile(`(?m)^\d+\s+alice\s+movie\s+.+?\s+(yes|no)\s`)
)

func TestE2EDemoOnce(t *testing.T) {
	kept := filepath.Join(t.TempDir(), "demo")
	tests := []struct {
		name    string
		args    []string
		dirKept bool
	}{
		{"temporary directory", nil, false},
		{"--dir", []string{"--dir", kept}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startDemo(t, append([]string{"--once"}, tt.args...)...)
			code := p.wait(t, demoLimit)
			out := p.stdout.String()
			if code != exitOK {
				t.Fatalf("exit %d; stdout:\n%s\nstderr:\n%s", code, out, p.stderr)
			}
			assertContains(t, out,
				"first import (run 1): observed 16, created 8",
				"alice finished Mighty Summer (1983) on Plex → watched on Jellyfin",
				"ID  USER   KIND   ITEM",
				"Plex and Jellyfin agree on all 8 movies: alice has watched 4 and started 1\n",
				"latency from Plex's webhook to keepwatch's write on Jellyfin: ")
			// keepwatch's records agree with the servers: 8 movies, 4 watched.
			records := demoRecordLine.FindAllStringSubmatch(out, -1)
			watched := 0
			for _, r := range records {
				if r[1] == "yes" {
					watched++
				}
			}
			if len(records) != 8 || watched != 4 {
				t.Errorf("state list shows %d records, %d watched; want 8, 4:\n%s", len(records), watched, out)
			}

			m := demoConfigLine.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("stdout does not name the config:\n%s", out)
			}
			_, err := os.Stat(filepath.Join(m[1], "data", "keepwatch.db"))
			switch {
			case tt.dirKept && (m[1] != kept || err != nil):
				t.Errorf("--dir %s: config in %s, database: %v; want both kept there", kept, m[1], err)
			case !tt.dirKept && !errors.Is(err, os.ErrNotExist):
				t.Errorf("the temporary directory %s is still there (%v)", m[1], err)
			}
		})
	}
}

func TestE2EDemoRunsUntilInterrupted(t *testing.T) {
	p := startDemo(t, "--play-every", "50ms")
	deadline := time.After(demoLimit)
	for strings.Count(p.stdout.String(), " later\n") < 3 {
		select {
		case <-p.done:
			t.Fatalf("demo exited (%v) before three plays; stdout:\n%s\nstderr:\n%s", p.err, p.stdout, p.stderr)
		case <-deadline:
			t.Fatalf("fewer than three plays after %s; stdout:\n%s\nstderr:\n%s", demoLimit, p.stdout, p.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, demoLimit); code != exitOK {
		t.Fatalf("exit %d after SIGINT; stderr:\n%s", code, p.stderr)
	}
	out := p.stdout.String()
	assertContains(t, out,
		"alice finished Mighty Summer (1983) on Plex → watched on Jellyfin",
		"alice marked Scarlet Mirror (2001) played on Jellyfin → watched on Plex",
		"curl -X POST -H 'Authorization: MediaBrowser Token=",
		"demo stopped; removed ")
	if m := demoConfigLine.FindStringSubmatch(out); m == nil {
		t.Errorf("stdout does not name the config:\n%s", out)
	} else if _, err := os.Stat(m[1]); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the temporary directory %s is still there (%v)", m[1], err)
	}
}

func TestDemoRefusesBadFlags(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"listen address in use", []string{"--listen", busy.Addr().String()}, exitFailure,
			"--listen " + busy.Addr().String() + ": listen tcp " + busy.Addr().String() + ": bind: address already in use (pass --listen with a free address, like 127.0.0.1:8687)"},
		{"negative play interval", []string{"--play-every", "-1s"}, exitUsage,
			"--play-every -1s is negative; give a duration like 20s, or 0 for no simulated plays"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := runInProcess(t, nil, append([]string{"demo"}, tt.args...)...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, tt.code, tt.want)
			}
		})
	}
}
