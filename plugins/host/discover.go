package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	plugin "github.com/hashicorp/go-plugin"
	"github.com/rs/zerolog"

	"github.com/keepwatch/keepwatch/plugins"
)

// Candidate is an external plugin executable found in the plugins directory.
type Candidate struct {
	Type string
	Path string
}

// Discover lists the executables named keepwatch-backend-<type> in dir,
// sorted by type. A missing directory holds no plugins; other files are
// ignored.
func Discover(dir string) ([]Candidate, error) {
	if dir == "" {
		return nil, nil
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("plugins directory %s: %w", dir, err)
	}
	var out []Candidate
	for _, e := range entries {
		name := e.Name()
		typ, ok := strings.CutPrefix(name, ExecutablePrefix)
		if !ok {
			continue
		}
		typ = strings.TrimSuffix(typ, ".exe")
		if !plugins.ValidType(typ) {
			continue
		}
		path := filepath.Join(dir, name)
		if ok, _ := isExecutable(path); !ok {
			continue
		}
		out = append(out, Candidate{Type: typ, Path: path})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Type < out[j].Type })
	return out, nil
}

// isExecutable reports whether path is a regular file (or a link to one)
// with an execute bit.
func isExecutable(path string) (bool, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return false, err
	}
	return fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0, nil
}

// PluginInfo is one line of `keepwatch plugin list`.
type PluginInfo struct {
	Type         string               `json:"type"`
	Source       Source               `json:"source"`
	Path         string               `json:"path,omitempty"`
	Version      string               `json:"version,omitempty"`
	DisplayName  string               `json:"display_name,omitempty"`
	Capabilities []plugins.Capability `json:"capabilities"`
	Protocol     int                  `json:"protocol,omitempty"`
	// Shadowed marks an external plugin of a built-in type: the built-in
	// is the one that runs.
	Shadowed bool `json:"shadowed,omitempty"`
	// Error says why the plugin could not be described.
	Error string `json:"error,omitempty"`
}

// ListOptions configure List.
type ListOptions struct {
	// Builtins are the built-in backends, described in process.
	Builtins map[string]plugins.Factory
	// PluginsDir is searched for external plugins, each started once to be
	// described.
	PluginsDir string
	// Logger receives the external plugins' logs.
	Logger zerolog.Logger
	// StartTimeout bounds each external plugin's start and Describe [15s].
	StartTimeout time.Duration
}

// List describes the built-in backends and the external plugins in the
// plugins directory, sorted by type (a built-in before an external of the
// same type). A plugin that cannot be described is listed with its error.
func List(ctx context.Context, opts ListOptions) ([]PluginInfo, error) {
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 15 * time.Second
	}
	var out []PluginInfo
	for typ, factory := range opts.Builtins {
		info := PluginInfo{Type: typ, Source: SourceBuiltin, Protocol: plugins.ProtocolVersion}
		b := factory(plugins.Env{Logger: zerolog.Nop()})
		d, err := plugins.Adapt(b).Describe(ctx)
		switch {
		case err != nil:
			info.Error = err.Error()
		case d.Type != typ:
			info.Error = fmt.Sprintf("registered as %q but describes itself as %q", typ, d.Type)
		default:
			info.Version, info.DisplayName, info.Capabilities = d.Version, d.DisplayName, d.Capabilities
		}
		out = append(out, info)
	}
	found, err := Discover(opts.PluginsDir)
	if err != nil {
		return nil, err
	}
	for _, c := range found {
		info := PluginInfo{Type: c.Type, Source: SourceExternal, Path: c.Path}
		_, info.Shadowed = opts.Builtins[c.Type]
		d, proto, err := Inspect(ctx, c.Path, nil, opts.Logger, opts.StartTimeout)
		switch {
		case err != nil:
			info.Error = err.Error()
		case d.Type != c.Type:
			info.Error = fmt.Sprintf("named for type %q but describes itself as %q", c.Type, d.Type)
		default:
			info.Version, info.DisplayName, info.Capabilities, info.Protocol = d.Version, d.DisplayName, d.Capabilities, proto
		}
		out = append(out, info)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Type != out[j].Type {
			return out[i].Type < out[j].Type
		}
		return out[i].Source == SourceBuiltin && out[j].Source != SourceBuiltin
	})
	return out, nil
}

// Inspect starts a plugin executable, asks it to describe itself, and stops
// it. It answers the description and the negotiated protocol version.
func Inspect(ctx context.Context, path string, args []string, log zerolog.Logger, timeout time.Duration) (plugins.Description, int, error) {
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	cmd := exec.Command(path, args...)
	cmd.Env = []string{plugins.LogLevelEnv + "=warn"}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  plugins.Handshake,
		VersionedPlugins: hostPluginSets(),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           newHCLogBridge(log.With().Str("plugin_path", path).Logger()),
		StartTimeout:     timeout,
	})
	defer client.Kill()
	proto, err := client.Client()
	if err != nil {
		return plugins.Description{}, 0, fmt.Errorf("start %s: %w", path, err)
	}
	raw, err := proto.Dispense(plugins.PluginName)
	if err != nil {
		return plugins.Description{}, 0, fmt.Errorf("%s: %w", path, err)
	}
	conn, ok := raw.(plugins.Client)
	if !ok {
		return plugins.Description{}, 0, fmt.Errorf("%s: unexpected client type %T", path, raw)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	d, err := conn.Describe(ctx)
	if err != nil {
		return plugins.Description{}, 0, fmt.Errorf("%s: describe: %w", path, err)
	}
	return d, client.NegotiatedVersion(), nil
}

// WriteList prints infos as `keepwatch plugin list` does: a table, or with
// asJSON an array of PluginInfo (empty, not null, when there is none).
func WriteList(w io.Writer, infos []PluginInfo, asJSON bool) error {
	if asJSON {
		// Arrays, never null, so scripts can iterate without checks.
		out := make([]PluginInfo, len(infos))
		for i, p := range infos {
			if p.Capabilities == nil {
				p.Capabilities = []plugins.Capability{}
			}
			out[i] = p
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TYPE\tSOURCE\tVERSION\tCAPABILITIES\tPATH\tNOTE")
	for _, p := range infos {
		version, caps := p.Version, make([]string, len(p.Capabilities))
		if version == "" {
			version = "-"
		}
		for i, c := range p.Capabilities {
			caps[i] = string(c)
		}
		capList := strings.Join(caps, ",")
		if capList == "" {
			capList = "-"
		}
		path := p.Path
		if path == "" {
			path = "-"
		}
		var note string
		switch {
		case p.Error != "":
			note = "error: " + p.Error
		case p.Shadowed:
			note = "not used: the built-in " + p.Type + " wins"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Type, p.Source, version, capList, path, note)
	}
	return tw.Flush()
}
