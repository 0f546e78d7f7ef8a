package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/robfig/cron/v3"
)

// safeName is what backend and user names may hold: they appear in URLs, log
// fields and command arguments.
var safeName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// validator checks a decoded Config. lines maps field paths to the line they
// were read from, so problems with values point at the file.
type validator struct {
	file   string
	lines  map[string]int
	bad    map[string]bool
	failed map[string]bool // a value that did not decode is not validated again
	known  []string
	errs   Errors
}

func (v *validator) add(path, format string, args ...any) {
	if v.failed[path] {
		return
	}
	v.errs = append(v.errs, &Error{File: v.file, Line: v.lineOf(path), Path: path, Msg: fmt.Sprintf(format, args...)})
}

// lineOf finds the line of path, or of its nearest parent that was written in
// the file (a missing key is reported at its entry's line).
func (v *validator) lineOf(path string) int {
	for p := path; p != ""; p = parentPath(p) {
		if line, ok := v.lines[p]; ok {
			return line
		}
	}
	return 0
}

func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

func (v *validator) validate(c *Config) {
	v.server(&c.Server)
	names := v.backends(c.Backends)
	v.users(&c.Users, names)
	v.sync(&c.Sync)
	v.tasks(&c.Tasks)
}

func (v *validator) server(s *Server) {
	if s.Listen == "" {
		v.add("server.listen", `required (write it like ":8686" or "127.0.0.1:8686")`)
	} else if _, port, err := net.SplitHostPort(s.Listen); err != nil || !validPort(port) {
		v.add("server.listen", `%q is not a host:port address (write it like ":8686" or "127.0.0.1:8686")`, s.Listen)
	}
	if s.PublicURL != "" {
		if msg := checkHTTPURL(s.PublicURL); msg != "" {
			v.add("server.public_url", "%s (write it like http://keepwatch.lan:8686)", msg)
		}
	}
	if s.DataDir == "" {
		v.add("server.data_dir", `required (a directory, like "./data")`)
	}
	if s.WebhookMaxBytes < 1024 {
		v.add("server.webhook_max_bytes", "%d is too small (at least 1024; the default is 10485760, 10 MiB)", s.WebhookMaxBytes)
	}
	if s.PluginsDir == "" {
		v.add("server.plugins_dir", `required (a directory, like "./plugins")`)
	}
}

func validPort(port string) bool {
	n, err := strconv.Atoi(port)
	return err == nil && n >= 0 && n <= 65535
}

// checkHTTPURL returns what is wrong with raw as an http(s) URL, or "". The
// URL is shown with any user and password redacted.
func checkHTTPURL(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Sprintf("%q is not a URL", redactURL(raw))
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("%q is not an http:// or https:// URL", redactURL(raw))
	case u.Host == "":
		return fmt.Sprintf("%q has no host", redactURL(raw))
	}
	return ""
}

// redactURL hides whatever sits between "://" and "@" (user and password).
func redactURL(raw string) string {
	if i := strings.Index(raw, "://"); i >= 0 {
		if j := strings.LastIndex(raw[i+3:], "@"); j >= 0 {
			return raw[:i+3] + "xxxxx" + raw[i+3+j:]
		}
	}
	return raw
}

// backends validates every backend and returns the set of usable names.
func (v *validator) backends(bs []Backend) map[string]bool {
	names := map[string]bool{}
	firstIndex := map[string]int{}
	for i, b := range bs {
		p := fmt.Sprintf("backends[%d]", i)
		if v.bad[p] {
			continue
		}
		switch {
		case b.Name == "":
			v.add(p+".name", "required (a unique name like plex-home: letters, digits, - and _)")
		case !safeName.MatchString(b.Name):
			v.add(p+".name", "%q may hold only letters, digits, - and _ (like plex-home)", b.Name)
		default:
			if j, dup := firstIndex[b.Name]; dup {
				v.add(p+".name", "%q is already the name of backends[%d] (give each backend its own name)", b.Name, j)
			} else {
				firstIndex[b.Name] = i
				names[b.Name] = true
			}
		}
		switch {
		case b.Type == "":
			v.add(p+".type", "required (known: %s)", strings.Join(v.known, ", "))
		case !slices.Contains(v.known, b.Type):
			v.add(p+".type", "unknown type %q (known: %s)", b.Type, strings.Join(v.known, ", "))
		}
		if b.URL == "" {
			v.add(p+".url", "required (the server's address, like http://192.168.1.10:32400)")
		} else if msg := checkHTTPURL(b.URL); msg != "" {
			v.add(p+".url", "%s (write it like http://192.168.1.10:32400)", msg)
		}
		if !b.Token.IsSet() && slices.Contains(BuiltinTypes(), b.Type) {
			v.add(p+".token", "required for type %s (set token, for example token: \"${%s_TOKEN}\", or token_file)", b.Type, strings.ToUpper(b.Type))
		}
		if b.Type == TypeTautulli && b.Export {
			v.add(p+".export", "Tautulli cannot be written to: it only reports plays (set export: false)")
		}
		for _, list := range []struct {
			key   string
			names []string
		}{{"include", b.Libraries.Include}, {"exclude", b.Libraries.Exclude}} {
			for j, name := range list.names {
				if strings.TrimSpace(name) == "" {
					v.add(fmt.Sprintf("%s.libraries.%s[%d]", p, list.key, j), "empty library name (write the library's name as the server shows it, or remove the entry)")
				}
			}
		}
		for _, key := range sortedKeys(b.Options) {
			if key == "" {
				v.add(p+".options", "empty option name (remove it)")
			}
		}
	}
	return names
}

func (v *validator) users(u *Users, backends map[string]bool) {
	configured := sortedKeys(backends)
	firstIndex := map[string]int{}
	owner := map[[2]string]string{} // (backend, account) → user name
	for i, usr := range u.List {
		p := fmt.Sprintf("users.list[%d]", i)
		if v.bad[p] {
			continue
		}
		switch {
		case usr.Name == "":
			v.add(p+".name", "required (a unique name like alice: letters, digits, - and _)")
		case !safeName.MatchString(usr.Name):
			v.add(p+".name", "%q may hold only letters, digits, - and _ (like alice)", usr.Name)
		default:
			if j, dup := firstIndex[usr.Name]; dup {
				v.add(p+".name", "%q is already the name of users.list[%d] (give each user one entry)", usr.Name, j)
			} else {
				firstIndex[usr.Name] = i
			}
		}
		for _, backend := range sortedKeys(usr.Accounts) {
			account := usr.Accounts[backend]
			ap := p + ".accounts." + backend
			if !backends[backend] {
				known := "none are configured"
				if len(configured) > 0 {
					known = "configured: " + strings.Join(configured, ", ")
				}
				v.add(ap, "no backend is named %q (%s)", backend, known)
				continue
			}
			if account == "" {
				v.add(ap, "empty account (write the user's account name or id on %s)", backend)
				continue
			}
			key := [2]string{backend, account}
			if prev, taken := owner[key]; taken && prev != usr.Name {
				v.add(ap, "account %q on %s already belongs to user %q (an account belongs to one user)", account, backend, prev)
				continue
			}
			owner[key] = usr.Name
		}
	}
}

func (v *validator) sync(s *Sync) {
	if s.MinProgress < 0 {
		v.add("sync.min_progress", "%s is negative (write 0s or more, like 60s)", s.MinProgress)
	}
	if s.WatchedPercent < 1 || s.WatchedPercent > 100 {
		v.add("sync.watched_percent", "%d is out of range (write a percentage from 1 to 100, like 90)", s.WatchedPercent)
	}
	if !(s.Guard.MaxFraction > 0 && s.Guard.MaxFraction <= 1) {
		v.add("sync.guard.max_fraction", "%s is out of range (write a fraction above 0 and at most 1, like 0.10 for 10%%)", strconv.FormatFloat(s.Guard.MaxFraction, 'f', -1, 64))
	}
	if s.Guard.MinItems < 0 {
		v.add("sync.guard.min_items", "%d is negative (write 0 or more, like 25)", s.Guard.MinItems)
	}
}

func (v *validator) tasks(t *Tasks) {
	for _, task := range []struct {
		key string
		t   Task
	}{
		{"import", t.Import}, {"import_full", t.ImportFull}, {"export", t.Export},
		{"backup", t.Backup.Task}, {"prune", t.Prune.Task},
	} {
		p := "tasks." + task.key + ".schedule"
		if task.t.Schedule == "" {
			if task.t.Enabled {
				v.add(p, `required while the task is enabled (like "@every 1h" or "0 3 * * 0", or set enabled: false)`)
			}
			continue
		}
		if _, err := cron.ParseStandard(task.t.Schedule); err != nil {
			v.add(p, "%q is not a cron schedule: %v (write 5 fields, minute hour day-of-month month day-of-week, like \"0 3 * * 0\", or a descriptor like \"@every 1h\" or \"@daily\")", task.t.Schedule, err)
		}
	}
	if t.Backup.Keep < 1 {
		v.add("tasks.backup.keep", "%d keeps no backup (write 1 or more, like 7)", t.Backup.Keep)
	}
	if t.Prune.KeepDays < 1 {
		v.add("tasks.prune.keep_days", "%d is too small (write 1 or more days, like 90)", t.Prune.KeepDays)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
