package plex

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keepwatch/keepwatch/plugins"
)

// Option names (plugins.Config.Options keys). doc.go documents each.
const (
	optPageSize         = "page_size"
	optPlexTVURL        = "plextv_url"
	optPlexTVClientsURL = "plextv_clients_url"
	optConcurrency      = "concurrency"
	optTimeout          = "timeout"
	optClientIdentifier = "client_identifier"
	optHomePINs         = "home_pins"
)

var knownOptions = []string{optPageSize, optPlexTVURL, optPlexTVClientsURL, optConcurrency, optTimeout, optClientIdentifier, optHomePINs}

// Defaults of the options.
const (
	DefaultPageSize         = 1000
	DefaultPlexTVURL        = "https://plex.tv"
	DefaultPlexTVClientsURL = "https://clients.plex.tv"
	DefaultConcurrency      = 4
	DefaultTimeout          = 30 * time.Second
	maxPageSize             = 10_000
	maxConcurrency          = 32
)

// settings is a validated configuration.
type settings struct {
	name       string
	url        string // PMS base URL without a trailing slash
	token      string // the owner's plex.tv token (also its PMS token until rotated)
	pageSize   int
	plexTV     string
	clients    string
	concurrent int
	timeout    time.Duration
	clientID   string
	pins       map[string]string // Home member (uuid, id, username or title, lower case) → PIN
}

// parseConfig validates cfg into settings; every refusal is a *plugins.ConfigError.
func parseConfig(cfg plugins.Config) (settings, error) {
	s := settings{
		name: cfg.Name, pageSize: DefaultPageSize, plexTV: DefaultPlexTVURL,
		concurrent: DefaultConcurrency, timeout: DefaultTimeout,
	}
	u, err := parseBaseURL("url", cfg.URL, "http://192.168.1.10:32400")
	if err != nil {
		return s, err
	}
	s.url = u
	if strings.TrimSpace(cfg.Token) == "" {
		return s, plugins.InvalidConfig("token", "", "is empty: set the server owner's Plex token (token or token_file)")
	}
	s.token = strings.TrimSpace(cfg.Token)

	for k := range cfg.Options {
		if !slices.Contains(knownOptions, k) {
			return s, plugins.InvalidConfig("options."+k, cfg.Options[k],
				"is not a plex option; known options: "+strings.Join(knownOptions, ", "))
		}
	}
	opt := func(k string) (string, bool) {
		v, ok := cfg.Options[k]
		return strings.TrimSpace(v), ok
	}
	if v, ok := opt(optPageSize); ok {
		if s.pageSize, err = intOption(optPageSize, v, 1, maxPageSize); err != nil {
			return s, err
		}
	}
	if v, ok := opt(optConcurrency); ok {
		if s.concurrent, err = intOption(optConcurrency, v, 1, maxConcurrency); err != nil {
			return s, err
		}
	}
	if v, ok := opt(optTimeout); ok {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > 10*time.Minute {
			return s, plugins.InvalidConfig("options."+optTimeout, v, "must be a duration from 1s to 10m, such as 30s")
		}
		s.timeout = d
	}
	if v, ok := opt(optPlexTVURL); ok {
		if s.plexTV, err = parseBaseURL("options."+optPlexTVURL, v, DefaultPlexTVURL); err != nil {
			return s, err
		}
	}
	// clients.plex.tv serves the Home switch; a test or proxy that moves plex.tv
	// moves both unless told otherwise.
	s.clients = DefaultPlexTVClientsURL
	if _, moved := opt(optPlexTVURL); moved {
		s.clients = s.plexTV
	}
	if v, ok := opt(optPlexTVClientsURL); ok {
		if s.clients, err = parseBaseURL("options."+optPlexTVClientsURL, v, DefaultPlexTVClientsURL); err != nil {
			return s, err
		}
	}
	s.clientID = defaultClientID(cfg.Name, s.url)
	if v, ok := opt(optClientIdentifier); ok {
		if v == "" || len(v) > 128 || strings.ContainsAny(v, " \t\r\n") {
			return s, plugins.InvalidConfig("options."+optClientIdentifier, v, "must be 1-128 characters without spaces; leave it out to use a stable generated one")
		}
		s.clientID = v
	}
	if v, ok := cfg.Options[optHomePINs]; ok {
		// PINs are secrets: the value is never echoed back.
		if s.pins, err = parsePINs(v); err != nil {
			return s, err
		}
	}
	return s, nil
}

func intOption(name, v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, plugins.InvalidConfig("options."+name, v, fmt.Sprintf("must be a whole number from %d to %d", lo, hi))
	}
	return n, nil
}

// parseBaseURL checks an http(s) base URL and drops a trailing slash.
func parseBaseURL(field, v, example string) (string, error) {
	if v == "" {
		return "", plugins.InvalidConfig(field, "", "is empty: set the base URL, such as "+example)
	}
	u, err := url.Parse(v)
	if err != nil {
		return "", plugins.InvalidConfig(field, v, "is not a URL: write it as "+example)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", plugins.InvalidConfig(field, v, fmt.Sprintf("scheme %q is not http or https: write it as %s", u.Scheme, example))
	}
	if u.Host == "" {
		return "", plugins.InvalidConfig(field, v, "has no host: write it as "+example)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", plugins.InvalidConfig(field, v, "must not carry a query or fragment (put the token in token, not in the URL)")
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// parsePINs reads "member=PIN,member=PIN". A member is named by its plex.tv uuid,
// id, username or title.
func parsePINs(v string) (map[string]string, error) {
	out := map[string]string{}
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		who, pin, ok := strings.Cut(part, "=")
		who, pin = strings.TrimSpace(who), strings.TrimSpace(pin)
		if !ok || who == "" || len(pin) != 4 || strings.Trim(pin, "0123456789") != "" {
			return nil, plugins.InvalidConfig("options."+optHomePINs, "",
				fmt.Sprintf("entry for %q is not member=PIN with a 4-digit PIN: write it as kid=1234,teen=5678", who))
		}
		out[strings.ToLower(who)] = pin
	}
	return out, nil
}

// defaultClientID is a stable X-Plex-Client-Identifier for this backend, so
// plex.tv does not see a new device on every start.
func defaultClientID(name, u string) string {
	h := sha256.Sum256([]byte(name + "\x00" + u))
	return "keepwatch-" + hex.EncodeToString(h[:8])
}
