package archtest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestModuleFollowsDependencyDirection is the architecture test: it fails on
// every import in the module that DESIGN.md's dependency direction forbids.
func TestModuleFollowsDependencyDirection(t *testing.T) {
	root := filepath.Join("..", "..")
	if mod, err := modulePath(filepath.Join(root, "go.mod")); err != nil || mod != "github.com/keepwatch/keepwatch" {
		t.Fatalf("module root not found at %s: %q %v", root, mod, err)
	}
	violations, err := Check(root, Rules)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range violations {
		t.Errorf("%s", v)
	}
}

// TestCheckCatchesViolations runs the rules over a small tree under testdata
// holding one of each kind of violation beside allowed imports.
func TestCheckCatchesViolations(t *testing.T) {
	got, err := Check(filepath.Join("testdata", "tree"), Rules)
	if err != nil {
		t.Fatal(err)
	}
	const (
		engineRule  = "core/engine/... may import only core/engine/..., core/store/..., core/model/..., plugins, plugins/guids"
		backendRule = "backends/*/... may import only backends/*/..., backends/internal/..., plugins, plugins/guids"
	)
	want := []Violation{
		{File: "api/api.go", Import: "example.com/kw/backends/plex", Reason: "api/... may import only api/..., core/pipeline/..., core/engine/..., core/store/..., core/model/..., tasks/..., plugins, plugins/host, config/..."},
		{File: "backends/internal/httpx/httpx.go", Import: "example.com/kw/config", Reason: "backends/internal/... may import only backends/internal/..., plugins, plugins/guids"},
		{File: "backends/plex/fake/fake.go", Import: "example.com/kw/plugins/plugintest", Reason: backendRule},
		{File: "backends/plex/plex.go", Import: "example.com/kw/backends/jellyfin", Reason: backendRule},
		{File: "backends/plex/plex.go", Import: "example.com/kw/core/store", Reason: backendRule},
		{File: "core/engine/engine.go", Import: "example.com/kw/plugins/host", Reason: engineRule},
		{File: "core/model/model.go", Import: "example.com/kw/config", Reason: "core/model/... may import only core/model/..."},
		{File: "internal/archtest/archtest.go", Import: "example.com/kw/config", Reason: "internal/archtest/... may import no keepwatch package"},
		{File: "mystery/mystery.go", Reason: `no rule covers package "mystery" (add one to the table in internal/archtest)`},
		{File: "tasks/tasks.go", Import: "example.com/kw/api", Reason: "tasks/... may import only tasks/..., core/engine/..., core/store/..., core/model/..., plugins"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("violations mismatch (-want +got):\n%s", diff)
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, pkg string
		binds        []string
		want         bool
		wantCapture  []string
	}{
		{pattern: "core/store", pkg: "core/store", want: true},
		{pattern: "core/store", pkg: "core/store/x", want: false},
		{pattern: "core/store/...", pkg: "core/store", want: true},
		{pattern: "core/store/...", pkg: "core/store/x/y", want: true},
		{pattern: "core/store/...", pkg: "core/storex", want: false},
		{pattern: "...", pkg: "", want: true},
		{pattern: "backends/*/...", pkg: "backends/plex/fake", want: true, wantCapture: []string{"plex"}},
		{pattern: "backends/*/...", pkg: "backends", want: false},
		{pattern: "backends/*/...", pkg: "backends/plex/fake", binds: []string{"plex"}, want: true},
		{pattern: "backends/*/...", pkg: "backends/emby", binds: []string{"plex"}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" "+tt.pkg, func(t *testing.T) {
			captured, ok := match(tt.pattern, tt.pkg, tt.binds)
			if ok != tt.want || !cmp.Equal(captured, tt.wantCapture) {
				t.Errorf("match = %v %v, want %v %v", captured, ok, tt.want, tt.wantCapture)
			}
		})
	}
}

func TestCheckReportsUnparsableFiles(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module example.com/x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "config"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "config", "bad.go"), []byte("not go"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Check(root, Rules); err == nil {
		t.Error("Check accepted a file it could not parse")
	}
}
