package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Option adjusts Load, Parse and Validate.
type Option func(*options)

type options struct {
	types      []string
	typeLookup func(pluginsDir string) ([]string, error)
	lookupEnv  func(string) (string, bool)
}

// WithBackendTypes adds backend types (external plugins) to the built-in
// plex, jellyfin, emby and tautulli.
func WithBackendTypes(types ...string) Option {
	return func(o *options) { o.types = append(o.types, types...) }
}

// WithBackendTypesFrom adds the backend types lookup reports for the
// configured server.plugins_dir; it runs once the file is decoded, so types
// can come from the plugins directory the file itself names. A lookup error
// is reported as a problem with server.plugins_dir.
func WithBackendTypesFrom(lookup func(pluginsDir string) ([]string, error)) Option {
	return func(o *options) { o.typeLookup = lookup }
}

// WithLookupEnv replaces os.LookupEnv for ${ENV} expansion (tests use it).
func WithLookupEnv(lookup func(name string) (string, bool)) Option {
	return func(o *options) { o.lookupEnv = lookup }
}

func collect(opts []Option) options {
	o := options{lookupEnv: os.LookupEnv}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// knownTypes lists built-in types first (in their documented order), then the
// added ones sorted.
func (o options) knownTypes(pluginsDir string) ([]string, error) {
	extra := slices.Clone(o.types)
	var err error
	if o.typeLookup != nil {
		var found []string
		found, err = o.typeLookup(pluginsDir)
		extra = append(extra, found...)
	}
	slices.Sort(extra)
	known := BuiltinTypes()
	for _, t := range slices.Compact(extra) {
		if !slices.Contains(known, t) {
			known = append(known, t)
		}
	}
	return known, err
}

// Load reads, expands, decodes and validates the configuration file at path.
// A missing file returns an error wrapping ErrNotFound. An invalid file returns
// Errors listing every problem found. Relative *_file paths are read from the
// working directory, like data_dir and plugins_dir.
func Load(path string, opts ...Option) (*Config, error) {
	name := filepath.Clean(path)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("config: %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("config: read %s: %w", name, err)
	}
	return Parse(name, data, opts...)
}

// Parse is Load for content already read; name is the file name messages use.
func Parse(name string, data []byte, opts ...Option) (*Config, error) {
	o := collect(opts)
	d := &decoder{file: name, env: o.lookupEnv, lines: map[string]int{}, bad: map[string]bool{}, failed: map[string]bool{}}
	c := Defaults()
	root, err := parseYAML(name, data)
	if err != nil {
		return nil, Errors{err}
	}
	if root != nil {
		d.config(root, c)
	}
	c.Server.PublicURL = strings.TrimRight(c.Server.PublicURL, "/")

	v := &validator{file: name, lines: d.lines, bad: d.bad, failed: d.failed}
	known, lookupErr := o.knownTypes(c.Server.PluginsDir)
	v.known = known
	if lookupErr != nil {
		v.add("server.plugins_dir", "cannot list plugins in %q: %v (check the directory)", c.Server.PluginsDir, lookupErr)
	}
	v.validate(c)
	if errs := append(d.errs, v.errs...); len(errs) > 0 {
		return nil, errs.sorted()
	}
	return c, nil
}

// Validate checks a Config built in code (Defaults, or one a test assembled)
// by the same rules Load applies. Problems carry field paths but no lines.
func (c *Config) Validate(opts ...Option) error {
	o := collect(opts)
	v := &validator{lines: map[string]int{}, bad: map[string]bool{}, failed: map[string]bool{}}
	known, err := o.knownTypes(c.Server.PluginsDir)
	v.known = known
	if err != nil {
		v.add("server.plugins_dir", "cannot list plugins in %q: %v (check the directory)", c.Server.PluginsDir, err)
	}
	v.validate(c)
	if len(v.errs) > 0 {
		return v.errs.sorted()
	}
	return nil
}

// yamlLine pulls the line out of yaml.v3's syntax errors ("yaml: line 3: ...").
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML returns the root node of the file's single document, or nil for
// a file with no content.
func parseYAML(name string, data []byte) (*yaml.Node, *Error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, syntaxError(name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, syntaxError(name, err)
		}
		return nil, &Error{File: name, Line: extra.Line, Msg: "a second YAML document (after ---); keepwatch reads one (remove the ---)"}
	}
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil, nil
		}
		root := resolve(doc.Content[0])
		if isNull(root) {
			return nil, nil
		}
		return root, nil
	}
	return &doc, nil
}

func syntaxError(name string, err error) *Error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: name, Line: line, Msg: "not valid YAML: " + m[2] + " (check indentation, and quote values holding : or #)"}
	}
	return &Error{File: name, Msg: "not valid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}
