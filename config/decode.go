package config

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// decoder walks a parsed YAML tree into a Config by hand rather than through
// yaml's reflection, so every problem carries its line and field path, unknown
// and repeated keys are caught, and ${ENV} expansion happens per value.
type decoder struct {
	file   string
	env    func(string) (string, bool)
	errs   Errors
	lines  map[string]int  // field path → line of its key (or list entry)
	bad    map[string]bool // list entries that were not mappings; validation skips them
	failed map[string]bool // paths already reported; validation adds nothing more there
}

// setter decodes one value node found at path.
type setter func(v *yaml.Node, path string)

// field is one known key of a mapping.
type field struct {
	key string
	set setter
}

func (d *decoder) add(n *yaml.Node, path, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
	d.failed[path] = true
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names a node's kind for "expected X, got Y" messages. It never
// prints a value: the node may sit where a secret belongs.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping (key: value lines)"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a single value"
	default:
		return "an empty value"
	}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// mapping decodes n as a mapping whose keys must be among fields. It returns
// the non-null value nodes by key, or nil when n is null or not a mapping.
func (d *decoder) mapping(n *yaml.Node, path string, fields []field) map[string]*yaml.Node {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.add(n, path, "expected a mapping (key: value lines), got %s", describe(n))
		if path != "" {
			d.bad[path] = true
		}
		return nil
	}
	seen := map[string]*yaml.Node{}
	firstLine := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			d.add(k, path, "keys must be plain names, got %s", describe(k))
			continue
		}
		kp := joinPath(path, k.Value)
		if k.ShortTag() == "!!merge" {
			d.add(k, kp, "merge keys (<<) are not supported (write the keys out)")
			continue
		}
		if line, dup := firstLine[k.Value]; dup {
			d.add(k, kp, "key set twice (first on line %d; keep one)", line)
			continue
		}
		firstLine[k.Value] = k.Line
		f := findField(fields, k.Value)
		if f == nil {
			d.add(k, kp, "unknown key%s", unknownKeyHint(k.Value, fields))
			continue
		}
		d.lines[kp] = k.Line
		if isNull(v) {
			continue // "key:" with no value keeps the default
		}
		seen[k.Value] = v
		f.set(v, kp)
	}
	return seen
}

func findField(fields []field, key string) *field {
	for i := range fields {
		if fields[i].key == key {
			return &fields[i]
		}
	}
	return nil
}

func unknownKeyHint(key string, fields []field) string {
	known := make([]string, len(fields))
	best, bestDist := "", 3 // suggest only near misses
	for i, f := range fields {
		known[i] = f.key
		if dist := editDistance(strings.ToLower(key), f.key); dist < bestDist {
			best, bestDist = f.key, dist
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %s? known: %s)", best, strings.Join(known, ", "))
	}
	return fmt.Sprintf(" (known: %s)", strings.Join(known, ", "))
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// sequence returns the entries of a list node (nil when null or not a list),
// recording each entry's line under path[i].
func (d *decoder) sequence(n *yaml.Node, path string) []*yaml.Node {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.add(n, path, "expected a list (entries starting with \"- \", or [a, b]), got %s", describe(n))
		return nil
	}
	items := make([]*yaml.Node, len(n.Content))
	for i, item := range n.Content {
		d.lines[fmt.Sprintf("%s[%d]", path, i)] = item.Line
		items[i] = resolve(item)
	}
	return items
}

// scalar returns the ${ENV}-expanded text of a single value.
func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.add(n, path, "expected %s, got %s", want, describe(n))
		return "", false
	}
	s, err := expand(n.Value, d.env)
	if err != nil {
		d.add(n, path, "%v", err)
		return "", false
	}
	return s, true
}

func (d *decoder) str(dst *string) setter {
	return func(v *yaml.Node, path string) {
		if s, ok := d.scalar(v, path, "a text value"); ok {
			*dst = s
		}
	}
}

func (d *decoder) secret(dst *Secret) setter {
	return func(v *yaml.Node, path string) {
		if s, ok := d.scalar(v, path, "a text value"); ok {
			*dst = NewSecret(s)
		}
	}
}

func (d *decoder) boolean(dst *bool) setter {
	return func(v *yaml.Node, path string) {
		s, ok := d.scalar(v, path, "true or false")
		if !ok {
			return
		}
		switch strings.ToLower(s) {
		case "true":
			*dst = true
		case "false":
			*dst = false
		default:
			d.add(v, path, "%q is not true or false (write true or false)", s)
		}
	}
}

func (d *decoder) integer(dst *int) setter {
	return func(v *yaml.Node, path string) {
		s, ok := d.scalar(v, path, "a whole number")
		if !ok {
			return
		}
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			d.add(v, path, "%q is not a whole number (write digits only, like %d)", s, *dst)
			return
		}
		*dst = n
	}
}

func (d *decoder) float(dst *float64) setter {
	return func(v *yaml.Node, path string) {
		s, ok := d.scalar(v, path, "a number")
		if !ok {
			return
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.add(v, path, "%q is not a number (write a decimal number, like %s)", s, strconv.FormatFloat(*dst, 'f', -1, 64))
			return
		}
		*dst = f
	}
}

func (d *decoder) duration(dst *time.Duration) setter {
	return func(v *yaml.Node, path string) {
		s, ok := d.scalar(v, path, "a duration")
		if !ok {
			return
		}
		s = strings.TrimSpace(s)
		dur, err := time.ParseDuration(s)
		if err != nil {
			if _, numErr := strconv.ParseFloat(s, 64); numErr == nil {
				d.add(v, path, "%q has no unit (write %ss for seconds, or use m or h)", s, s)
			} else {
				d.add(v, path, "%q is not a duration (write a number and a unit, like 60s, 5m or 1h)", s)
			}
			return
		}
		*dst = dur
	}
}

func (d *decoder) strList(dst *[]string) setter {
	return func(v *yaml.Node, path string) {
		var out []string
		for i, item := range d.sequence(v, path) {
			if s, ok := d.scalar(item, fmt.Sprintf("%s[%d]", path, i), "a text value"); ok {
				out = append(out, s)
			}
		}
		*dst = out
	}
}

// strMap decodes a mapping of names to single values. Values are never printed
// in messages: backend options may hold credentials.
func (d *decoder) strMap(dst *map[string]string) setter {
	return func(v *yaml.Node, path string) {
		n := resolve(v)
		if n.Kind != yaml.MappingNode {
			d.add(n, path, "expected a mapping (name: value), got %s", describe(n))
			return
		}
		out := map[string]string{}
		firstLine := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], resolve(n.Content[i+1])
			if k.Kind != yaml.ScalarNode {
				d.add(k, path, "keys must be plain names, got %s", describe(k))
				continue
			}
			kp := joinPath(path, k.Value)
			if line, dup := firstLine[k.Value]; dup {
				d.add(k, kp, "key set twice (first on line %d; keep one)", line)
				continue
			}
			firstLine[k.Value] = k.Line
			d.lines[kp] = k.Line
			if isNull(val) {
				out[k.Value] = ""
				continue
			}
			if s, ok := d.scalar(val, kp, "a single value"); ok {
				out[k.Value] = s
			}
		}
		*dst = out
	}
}

// secretFile reads a *_file secret into dst: the file's content, trimmed of
// surrounding whitespace (files written by echo end in a newline).
func (d *decoder) secretFile(dst *Secret, file string, seen map[string]*yaml.Node, path, key, fileKey string) {
	node, fp := seen[fileKey], joinPath(path, fileKey)
	if d.failed[fp] {
		// A *_file that could not be used is the one problem; "token:
		// required" would only repeat it.
		d.failed[joinPath(path, key)] = true
	}
	if file == "" {
		return
	}
	d.failed[joinPath(path, key)] = true
	if dst.IsSet() {
		d.add(node, fp, "set only one of %s and %s (remove one)", key, fileKey)
		return
	}
	data, err := os.ReadFile(file)
	if err != nil {
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			err = pathErr.Err
		}
		d.add(node, fp, "cannot read %q: %v (create the file, or set %s instead)", file, err, key)
		return
	}
	s := strings.TrimSpace(string(data))
	if s == "" {
		d.add(node, fp, "%q is empty (write the %s into it, or set %s instead)", file, key, key)
		return
	}
	*dst = NewSecret(s)
	delete(d.failed, joinPath(path, key))
}

// config decodes the whole file's root mapping into c, which holds defaults.
func (d *decoder) config(root *yaml.Node, c *Config) {
	d.mapping(root, "", []field{
		{"server", d.server(&c.Server)},
		{"backends", d.backends(&c.Backends)},
		{"users", d.users(&c.Users)},
		{"sync", d.sync(&c.Sync)},
		{"match", d.match(&c.Match)},
		{"tasks", d.tasks(&c.Tasks)},
	})
}

func (d *decoder) server(s *Server) setter {
	return func(v *yaml.Node, path string) {
		seen := d.mapping(v, path, []field{
			{"listen", d.str(&s.Listen)},
			{"public_url", d.str(&s.PublicURL)},
			{"data_dir", d.str(&s.DataDir)},
			{"api_key", d.secret(&s.APIKey)},
			{"api_key_file", d.str(&s.APIKeyFile)},
			{"plugins_dir", d.str(&s.PluginsDir)},
			{"webhook_max_bytes", d.integer(&s.WebhookMaxBytes)},
		})
		d.secretFile(&s.APIKey, s.APIKeyFile, seen, path, "api_key", "api_key_file")
	}
}

func (d *decoder) backends(dst *[]Backend) setter {
	return func(v *yaml.Node, path string) {
		for i, item := range d.sequence(v, path) {
			ip := fmt.Sprintf("%s[%d]", path, i)
			b := defaultBackend()
			seen := d.mapping(item, ip, []field{
				{"name", d.str(&b.Name)},
				{"type", d.str(&b.Type)},
				{"url", d.str(&b.URL)},
				{"token", d.secret(&b.Token)},
				{"token_file", d.str(&b.TokenFile)},
				{"import", d.boolean(&b.Import)},
				{"export", d.boolean(&b.Export)},
				{"libraries", func(v *yaml.Node, path string) {
					d.mapping(v, path, []field{
						{"include", d.strList(&b.Libraries.Include)},
						{"exclude", d.strList(&b.Libraries.Exclude)},
					})
				}},
				{"webhook", func(v *yaml.Node, path string) {
					d.mapping(v, path, []field{
						{"match_account", d.boolean(&b.Webhook.MatchAccount)},
						{"match_server", d.boolean(&b.Webhook.MatchServer)},
						{"allow_servers", d.strList(&b.Webhook.AllowServers)},
						{"deny_servers", d.strList(&b.Webhook.DenyServers)},
					})
				}},
				{"options", d.strMap(&b.Options)},
			})
			// Tautulli only reports plays, so it exports nothing unless told
			// to; validation refuses an explicit export: true.
			if b.Type == TypeTautulli && seen["export"] == nil {
				b.Export = false
			}
			d.secretFile(&b.Token, b.TokenFile, seen, ip, "token", "token_file")
			*dst = append(*dst, b)
		}
	}
}

func (d *decoder) users(u *Users) setter {
	return func(v *yaml.Node, path string) {
		d.mapping(v, path, []field{
			{"auto_map", d.boolean(&u.AutoMap)},
			{"list", func(v *yaml.Node, path string) {
				for i, item := range d.sequence(v, path) {
					var usr User
					d.mapping(item, fmt.Sprintf("%s[%d]", path, i), []field{
						{"name", d.str(&usr.Name)},
						{"accounts", d.strMap(&usr.Accounts)},
					})
					u.List = append(u.List, usr)
				}
			}},
		})
	}
}

func (d *decoder) sync(s *Sync) setter {
	return func(v *yaml.Node, path string) {
		d.mapping(v, path, []field{
			{"min_progress", d.duration(&s.MinProgress)},
			{"watched_percent", d.integer(&s.WatchedPercent)},
			{"rewatch_resets", d.boolean(&s.RewatchResets)},
			{"guard", func(v *yaml.Node, path string) {
				d.mapping(v, path, []field{
					{"max_fraction", d.float(&s.Guard.MaxFraction)},
					{"min_items", d.integer(&s.Guard.MinItems)},
				})
			}},
		})
	}
}

func (d *decoder) match(m *Match) setter {
	return func(v *yaml.Node, path string) {
		d.mapping(v, path, []field{{"title_year", d.boolean(&m.TitleYear)}})
	}
}

func (d *decoder) tasks(t *Tasks) setter {
	return func(v *yaml.Node, path string) {
		d.mapping(v, path, []field{
			{"import", d.task(&t.Import)},
			{"import_full", d.task(&t.ImportFull)},
			{"export", d.task(&t.Export)},
			{"backup", d.task(&t.Backup.Task, field{"keep", d.integer(&t.Backup.Keep)})},
			{"prune", d.task(&t.Prune.Task, field{"keep_days", d.integer(&t.Prune.KeepDays)})},
		})
	}
}

func (d *decoder) task(t *Task, extra ...field) setter {
	return func(v *yaml.Node, path string) {
		d.mapping(v, path, append([]field{
			{"schedule", d.str(&t.Schedule)},
			{"enabled", d.boolean(&t.Enabled)},
		}, extra...))
	}
}
