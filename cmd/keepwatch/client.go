package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/keepwatch/keepwatch/api"
	"github.com/keepwatch/keepwatch/config"
)

// Environment variables that point management commands at a daemon.
const (
	envAddr   = "KEEPWATCH_ADDR"
	envAPIKey = "KEEPWATCH_API_KEY"
)

// APIKeyFileName is the key `keepwatch serve` generates into data_dir.

// remote is what every management command shares: how to reach the
// running daemon. Flags win over the environment, which wins over the
// config file.
type remote struct {
	g      *globals
	addr   string
	apiKey string
}

// newRemote adds --addr and --api-key to cmd and its subcommands.
func newRemote(g *globals, cmd *cobra.Command) *remote {
	r := &remote{g: g}
	cmd.PersistentFlags().StringVar(&r.addr, "addr", "", "address of the running keepwatch, like http://127.0.0.1:8686 (env "+envAddr+"; default: server.listen of the config)")
	cmd.PersistentFlags().StringVar(&r.apiKey, "api-key", "", "management API key (env "+envAPIKey+"; default: server.api_key, or <data_dir>/"+APIKeyFileName+")")
	return r
}

// client resolves the daemon's address and API key.
func (r *remote) client(cmd *cobra.Command) (*apiClient, error) {
	addr, key := r.addr, r.apiKey
	if addr == "" {
		addr = r.g.getenv(envAddr)
	}
	if key == "" {
		key = r.g.getenv(envAPIKey)
	}
	if addr == "" || key == "" {
		path := r.g.configPath(cmd)
		cfg, err := loadClientConfig(path, r.g.getenv)
		if err != nil {
			return nil, err
		}
		if addr == "" {
			if addr, err = listenURL(cfg.Server.Listen); err != nil {
				return nil, err
			}
		}
		if key == "" {
			if key, err = configuredKey(cfg, path); err != nil {
				return nil, err
			}
		}
	}
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	return &apiClient{base: strings.TrimRight(addr, "/"), key: key, http: &http.Client{Timeout: 2 * time.Minute}}, nil
}

// loadClientConfig reads only the server section of the config: a command
// run from a shell must not fail because a backend's ${TOKEN} is set only
// in the daemon's environment. A missing file means the defaults.
func loadClientConfig(path string, getenv func(string) string) (*config.Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return config.Defaults(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	lookup := func(name string) (string, bool) {
		v := getenv(name)
		return v, v != ""
	}
	cfg, err := config.Parse(filepath.Clean(path), serverSection(data), config.WithLookupEnv(lookup))
	if err != nil {
		var problems config.Errors
		if errors.As(err, &problems) {
			return nil, &exitError{code: exitUsage, err: err}
		}
		return nil, err
	}
	return cfg, nil
}

// serverSection blanks every top-level section but server, keeping line
// numbers so config errors still point at the right line. A file it cannot
// take apart is returned whole.
func serverSection(data []byte) []byte {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return data
	}
	pairs := doc.Content[0].Content
	lines := strings.SplitAfter(string(data), "\n")
	blank := make([]bool, len(lines))
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i].Value == "server" {
			continue
		}
		start, end := pairs[i].Line-1, len(lines)
		if i+2 < len(pairs) {
			end = pairs[i+2].Line - 1
		}
		if start >= end || pairs[i].Column != 1 {
			return data // flow style: sections share lines
		}
		for l := start; l < end; l++ {
			blank[l] = true
		}
	}
	var out strings.Builder
	for i, l := range lines {
		if blank[i] {
			if strings.HasSuffix(l, "\n") {
				out.WriteByte('\n')
			}
			continue
		}
		out.WriteString(l)
	}
	return []byte(out.String())
}

// listenURL turns server.listen into a URL to call: an empty or wildcard
// host means this machine.
func listenURL(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", &exitError{code: exitUsage, err: fmt.Errorf("server.listen %q is not host:port (%v): set it, or pass --addr", listen, err)}
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

// configuredKey is server.api_key (or api_key_file), else the key the
// daemon generated into data_dir.
func configuredKey(cfg *config.Config, path string) (string, error) {
	if cfg.Server.APIKey.IsSet() {
		return cfg.Server.APIKey.Value(), nil
	}
	keyPath := filepath.Join(cfg.Server.DataDir, APIKeyFileName)
	key, err := readKeyFile(keyPath)
	if err == nil && key != "" {
		return key, nil
	}
	why := "it is empty"
	if err != nil {
		why = err.Error()
		var pathErr *os.PathError
		if errors.As(err, &pathErr) {
			why = pathErr.Err.Error()
		}
	}
	return "", fmt.Errorf("no API key: cannot read %s: %s (pass --api-key or set %s, set server.api_key in %s, or start `keepwatch serve` once so it writes the key)",
		keyPath, why, envAPIKey, path)
}

// apiClient calls the management API.
type apiClient struct {
	base string
	key  string
	http *http.Client
}

// apiCallError is an error answer of the API.
type apiCallError struct {
	status  int
	code    string
	message string
}

func (e *apiCallError) Error() string { return e.message }

// call sends one request and returns the answer's body, or the API's error.
func (c *apiClient) call(ctx context.Context, method, path string, query url.Values, in any) ([]byte, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	u := c.base + api.APIPrefix + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("address %s: %w (pass --addr like http://127.0.0.1:8686)", c.base, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("cannot reach keepwatch at %s: is `keepwatch serve` running? (%v)", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("read answer of %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var eb api.ErrorBody
		if json.Unmarshal(data, &eb) == nil && eb.Error.Message != "" {
			return nil, &apiCallError{status: resp.StatusCode, code: eb.Error.Code, message: eb.Error.Message}
		}
		return nil, fmt.Errorf("keepwatch at %s answered %s to %s %s (is that address keepwatch?)", c.base, resp.Status, method, path)
	}
	return data, nil
}

// do is call that decodes the answer into out.
func (c *apiClient) do(ctx context.Context, method, path string, query url.Values, in, out any) ([]byte, error) {
	data, err := c.call(ctx, method, path, query, in)
	if err != nil {
		return nil, err
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return nil, fmt.Errorf("decode answer of %s %s: %w", method, path, err)
		}
	}
	return data, nil
}

// --- output ---

// displayZone is the zone times are shown in (tests pin it).
var displayZone = time.Local

func showTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(displayZone).Format("2006-01-02 15:04:05")
}

func showSeconds(s int64) string {
	if s == 0 {
		return "-"
	}
	return (time.Duration(s) * time.Second).String()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

// row writes tab-separated cells as one table row.
func row(w io.Writer, cells ...string) { fmt.Fprintln(w, strings.Join(cells, "\t")) }

// printJSON writes an API answer indented, for scripts.
func printJSON(w io.Writer, raw []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// show GETs path and prints it: as JSON with --json, else through table,
// which decodes the answer into T.
func show[T any](cmd *cobra.Command, r *remote, path string, query url.Values, asJSON bool, table func(w io.Writer, v T) error) error {
	c, err := r.client(cmd)
	if err != nil {
		return err
	}
	var v T
	raw, err := c.do(cmd.Context(), http.MethodGet, path, query, nil, &v)
	if err != nil {
		return err
	}
	return output(r.g.stdout, raw, v, asJSON, table)
}

// output prints an answer already fetched.
func output[T any](w io.Writer, raw []byte, v T, asJSON bool, table func(w io.Writer, v T) error) error {
	if asJSON {
		return printJSON(w, raw)
	}
	tw := newTable(w)
	if err := table(tw, v); err != nil {
		return err
	}
	return tw.Flush()
}

// getCmd builds a command that GETs what request says (path and query,
// from its arguments and flags) and prints it: as JSON with --json, else
// through table.
func getCmd[T any](r *remote, use, short string, args cobra.PositionalArgs,
	request func(args []string) (string, url.Values), table func(w io.Writer, v T) error) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{Use: use, Short: short, Args: args,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			path, query := request(args)
			return show(cmd, r, path, query, asJSON, table)
		}),
	}
	addJSONFlag(cmd, &asJSON)
	return cmd
}

// fixed is a request without arguments.
func fixed(path string) func([]string) (string, url.Values) {
	return func([]string) (string, url.Values) { return path, nil }
}

// under is a request for prefix/ARG+suffix.
func under(prefix, suffix string) func([]string) (string, url.Values) {
	return func(args []string) (string, url.Values) { return prefix + url.PathEscape(args[0]) + suffix, nil }
}

// addJSONFlag adds --json to a command that prints something.
func addJSONFlag(cmd *cobra.Command, v *bool) {
	cmd.Flags().BoolVar(v, "json", false, "print JSON for scripts instead of a table")
}
