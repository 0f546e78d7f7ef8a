package config

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

func noEnv(string) (string, bool) { return "", false }

func TestStarterLoadsToDefaults(t *testing.T) {
	got, err := Parse("keepwatch.yaml", Starter(), WithLookupEnv(noEnv))
	if err != nil {
		t.Fatalf("starter file does not load:\n%v", err)
	}
	if diff := cmp.Diff(Defaults(), got, equateConfigs); diff != "" {
		t.Errorf("starter differs from Defaults() (-defaults +starter):\n%s", diff)
	}
}

// commentedExample matches a commented-out example line of the starter
// ("  #   type: plex", "  # - name: alice"), not a prose comment.
var commentedExample = regexp.MustCompile(`(?m)^(\s*)# ( *(- )?[a-z_]+:)`)

// TestStarterListsEveryOption uncomments the starter's examples and checks
// that the result loads and names every key of Config, so a key added to
// Config without a line in `keepwatch init`'s output fails here.
func TestStarterListsEveryOption(t *testing.T) {
	full := commentedExample.ReplaceAll(Starter(), []byte("$1$2"))
	c, err := Parse("keepwatch.yaml", full, WithLookupEnv(lookupTestEnv))
	if err != nil {
		t.Fatalf("starter with its examples uncommented does not load:\n%v\n%s", err, full)
	}
	if len(c.Backends) != 4 || len(c.Users.List) != 1 {
		t.Errorf("uncommented starter has %d backends and %d users, want 4 and 1", len(c.Backends), len(c.Users.List))
	}
	var root yaml.Node
	if err := yaml.Unmarshal(full, &root); err != nil {
		t.Fatal(err)
	}
	present := map[string]bool{}
	nodePaths(root.Content[0], "", present)
	for _, p := range keyPaths(reflect.TypeFor[Config](), "") {
		if !present[p] {
			t.Errorf("starter does not list %s", p)
		}
	}
}

// TestDocsListEveryOption keeps docs/configuration.md complete.
func TestDocsListEveryOption(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range keyPaths(reflect.TypeFor[Config](), "") {
		if !strings.Contains(string(doc), "`"+p+"`") {
			t.Errorf("docs/configuration.md does not document `%s`", p)
		}
	}
}

// keyPaths lists every key of the YAML shape from the yaml tags: list entries
// are written [], maps (accounts, options) and scalars are leaves.
func keyPaths(t reflect.Type, prefix string) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if opts == "inline" {
			out = append(out, keyPaths(f.Type, prefix)...)
			continue
		}
		p := joinPath(prefix, name)
		switch ft := f.Type; {
		case ft == reflect.TypeFor[Secret](), ft == reflect.TypeFor[time.Duration]():
			out = append(out, p)
		case ft.Kind() == reflect.Struct:
			out = append(out, keyPaths(ft, p)...)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			out = append(out, keyPaths(ft.Elem(), p+"[]")...)
		default:
			out = append(out, p)
		}
	}
	return out
}

func nodePaths(n *yaml.Node, prefix string, out map[string]bool) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := joinPath(prefix, n.Content[i].Value)
			out[p] = true
			nodePaths(n.Content[i+1], p, out)
		}
	case yaml.SequenceNode:
		for _, item := range n.Content {
			nodePaths(item, prefix+"[]", out)
		}
	}
}

func TestKeyPathsCoverShape(t *testing.T) {
	// Spot-check the reflection walk, so the two tests above check what they claim.
	paths := strings.Join(keyPaths(reflect.TypeFor[Config](), ""), " ")
	for _, p := range []string{"server.listen", "backends[].token", "backends[].libraries.exclude",
		"users.list[].accounts", "sync.guard.max_fraction", "tasks.backup.keep", "tasks.prune.schedule"} {
		if !strings.Contains(" "+paths+" ", " "+p+" ") {
			t.Errorf("keyPaths misses %s: %s", p, paths)
		}
	}
}
