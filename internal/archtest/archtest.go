package archtest

import (
	"bufio"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Rule says which module packages the packages matching From may import.
//
// Patterns are paths relative to the module root: "core/store" is that one
// package, "core/store/..." it and everything below, "..." anything, and a
// "*" element matches one path element. A "*" in Allow stands for whatever
// the "*" of From matched, so "backends/*/..." allowing "backends/*/..." lets
// a backend import its own subpackages but not another backend.
type Rule struct {
	From      string
	Allow     []string
	TestAllow []string // additionally allowed in _test.go files
}

// Violation is one import a rule forbids (or a package no rule covers).
type Violation struct {
	File   string // slash-separated, relative to the checked root
	Import string // the full import path; "" when no rule covers the package
	Reason string
}

func (v Violation) String() string {
	if v.Import == "" {
		return fmt.Sprintf("%s: %s", v.File, v.Reason)
	}
	return fmt.Sprintf("%s: imports %s: %s", v.File, v.Import, v.Reason)
}

// testHelpers are what tests may import beyond their package's rule.
var testHelpers = []string{"plugins/plugintest"}

// Rules is keepwatch's dependency direction. The first rule whose From
// matches a package applies, so narrower rules come first.
var Rules = []Rule{
	{From: "core/model/...", Allow: []string{"core/model/..."}},
	{From: "core/store/...", Allow: []string{"core/store/...", "core/model/..."}},
	{From: "core/engine/...", Allow: []string{"core/engine/...", "core/store/...", "core/model/...", "plugins", "plugins/guids"}, TestAllow: testHelpers},
	{From: "core/pipeline/...", Allow: []string{"core/pipeline/...", "core/engine/...", "core/store/...", "core/model/...", "plugins", "plugins/guids"}, TestAllow: testHelpers},
	{From: "config/...", Allow: []string{"config/..."}},
	{From: "plugins/...", Allow: []string{"plugins/..."}},
	{From: "backends/internal/...", Allow: []string{"backends/internal/...", "plugins", "plugins/guids"}, TestAllow: testHelpers},
	{From: "backends/*/...", Allow: []string{"backends/*/...", "backends/internal/...", "plugins", "plugins/guids"}, TestAllow: testHelpers},
	{From: "tasks/...", Allow: []string{"tasks/...", "core/engine/...", "core/store/...", "core/model/...", "plugins"}, TestAllow: testHelpers},
	{From: "api/...", Allow: []string{"api/...", "core/pipeline/...", "core/engine/...", "core/store/...", "core/model/...", "tasks/...", "plugins", "plugins/host", "config/..."}, TestAllow: testHelpers},
	// An example plugin's own test runs it as a real external plugin, which
	// takes the host; the plugin itself may use only the public SDK.
	{From: "examples/...", Allow: []string{"examples/...", "plugins", "plugins/guids"}, TestAllow: []string{"plugins/plugintest", "plugins/host"}},
	{From: "cmd/...", Allow: []string{"..."}},
	{From: "internal/archtest/...", Allow: nil},
}

// Check reads every Go file under root (a module root holding go.mod),
// skipping testdata, vendor and hidden directories, and returns every
// violation of rules, sorted by file and import.
func Check(root string, rules []Rule) ([]Violation, error) {
	module, err := modulePath(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, err
	}
	var out []Violation
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if p != root && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return fmt.Errorf("archtest: parse %s: %w", rel, err)
		}
		pkg := path.Dir(rel)
		if pkg == "." {
			pkg = ""
		}
		rule, binds, ok := findRule(rules, pkg)
		if !ok {
			out = append(out, Violation{File: rel, Reason: fmt.Sprintf("no rule covers package %q (add one to the table in internal/archtest)", pkg)})
			return nil
		}
		isTest := strings.HasSuffix(rel, "_test.go")
		for _, imp := range f.Imports {
			ip, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				return fmt.Errorf("archtest: %s: bad import %s", rel, imp.Path.Value)
			}
			target, inModule := strings.CutPrefix(ip, module+"/")
			if !inModule {
				if ip == module {
					target, inModule = "", true
				} else {
					continue // standard library or another module
				}
			}
			if allowed(rule.Allow, binds, target) || (isTest && allowed(rule.TestAllow, binds, target)) {
				continue
			}
			out = append(out, Violation{File: rel, Import: ip, Reason: describeRule(rule, isTest)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		return out[i].Import < out[j].Import
	})
	return out, nil
}

func describeRule(r Rule, isTest bool) string {
	allow := r.Allow
	if isTest {
		allow = append(append([]string(nil), r.Allow...), r.TestAllow...)
	}
	if len(allow) == 0 {
		return fmt.Sprintf("%s may import no keepwatch package", r.From)
	}
	return fmt.Sprintf("%s may import only %s", r.From, strings.Join(allow, ", "))
}

func findRule(rules []Rule, pkg string) (Rule, []string, bool) {
	for _, r := range rules {
		if binds, ok := match(r.From, pkg, nil); ok {
			return r, binds, true
		}
	}
	return Rule{}, nil, false
}

func allowed(patterns, binds []string, target string) bool {
	for _, p := range patterns {
		if _, ok := match(p, target, binds); ok {
			return true
		}
	}
	return false
}

// match reports whether pkg matches pattern. With binds nil, each "*" of the
// pattern captures the element it matched; otherwise each "*" must equal the
// next bound value.
func match(pattern, pkg string, binds []string) ([]string, bool) {
	if pattern == "..." {
		return nil, true
	}
	subtree := false
	if p, ok := strings.CutSuffix(pattern, "/..."); ok {
		pattern, subtree = p, true
	}
	pe := strings.Split(pattern, "/")
	var ke []string
	if pkg != "" {
		ke = strings.Split(pkg, "/")
	}
	if len(ke) < len(pe) || (!subtree && len(ke) != len(pe)) {
		return nil, false
	}
	var captured []string
	bi := 0
	for i, e := range pe {
		switch {
		case e == "*" && binds == nil:
			captured = append(captured, ke[i])
		case e == "*":
			if bi >= len(binds) || ke[i] != binds[bi] {
				return nil, false
			}
			bi++
		case e != ke[i]:
			return nil, false
		}
	}
	return captured, true
}

func modulePath(goMod string) (string, error) {
	f, err := os.Open(goMod)
	if err != nil {
		return "", fmt.Errorf("archtest: %w", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if m, ok := strings.CutPrefix(strings.TrimSpace(s.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(m), `"`), nil
		}
	}
	if err := s.Err(); err != nil {
		return "", fmt.Errorf("archtest: read %s: %w", goMod, err)
	}
	return "", errors.New("archtest: no module line in " + goMod)
}
