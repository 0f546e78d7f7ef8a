package fakeserver

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// Flavor says which server the fake impersonates.
type Flavor uint8

const (
	// Jellyfin impersonates Jellyfin (10.x / 12.x).
	Jellyfin Flavor = iota + 1
	// Emby impersonates Emby Server 4.x.
	Emby
)

func (f Flavor) String() string {
	switch f {
	case Jellyfin:
		return "jellyfin"
	case Emby:
		return "emby"
	default:
		return fmt.Sprintf("flavor(%d)", uint8(f))
	}
}

// UserSpec describes one server account.
type UserSpec struct {
	Name     string
	Admin    bool   // administrators may act for other users and list /Users
	Password string // for /Users/AuthenticateByName; empty password is accepted as ""
	ID       string // 32 hex digits; derived from the seed when empty
	Token    string // the user's access token; derived from the seed when empty
}

// WebhookFormat selects the body encoding of a webhook destination.
type WebhookFormat uint8

const (
	// FormatDefault is what the server sends out of the box: Jellyfin's Generic destination
	// sends the JSON with Content-Type text/plain; charset=utf-8, Emby sends
	// application/json; charset=utf-8 (seen from 4.8.11, watchstate#689).
	FormatDefault WebhookFormat = iota
	// FormatJSON is Jellyfin's Generic destination with a configured Content-Type:
	// application/json header (the setup WatchState documents). Same as FormatDefault on Emby.
	FormatJSON
	// FormatForm is Jellyfin's "Generic Form" destination: the same dictionary sent as
	// application/x-www-form-urlencoded with every value stringified.
	FormatForm
	// FormatMultipart is Emby's older encoding: multipart/form-data with the JSON in a form
	// field named "data".
	FormatMultipart
)

// WebhookTarget is one configured webhook destination.
type WebhookTarget struct {
	URL    string
	Format WebhookFormat
	// Events limits the events sent: Jellyfin NotificationType names ("PlaybackStop",
	// "UserDataSaved", "ItemAdded", ...) or Emby event names ("playback.stop",
	// "item.markplayed", ...). Empty sends every event the fake produces.
	Events []string
	// Users is Jellyfin's UserFilter / Emby's "Limit user events to", as user names. On
	// Jellyfin an empty list sends everyone's events. On Emby user events are sent for every
	// user but carry no User object unless the user is listed here (WatchState's guide).
	Users []string
	// Headers are added verbatim (Jellyfin's configured headers; a Content-Type here is how
	// Jellyfin users switch the body to application/json).
	Headers map[string]string
	// Fields are Jellyfin's configured extra fields, merged into the dictionary as strings.
	Fields map[string]string
	// NoQuoteEscape turns off Jellyfin's Escape() quirk (a backslash before every quote in
	// Name, Overview, SeriesName, ...), to imitate the one 10.10.3 capture that lacks it.
	NoQuoteEscape bool
}

// Config is everything a fake server is built from. The thin packages fill it.
type Config struct {
	Flavor     Flavor
	Version    string // "10.11.11", "12.0.0", "10.8.13"; Emby "4.8.11.0"
	ServerName string
	ServerID   string // 32 hex digits; derived from Seed when empty

	// Library shape. Everything is derived from Seed: two fakes with the same Config serve
	// byte-identical libraries.
	Seed              int64
	Movies            int
	Series            int
	SeasonsPerSeries  int // default 2 when Series > 0
	EpisodesPerSeason int // default 10 when Series > 0

	Users  []UserSpec // default: one administrator named "admin"
	APIKey string     // an API key (acts for no user); derived from Seed when empty

	// LegacyAuth is Jellyfin's EnableLegacyAuthorization (X-Emby-Token, X-MediaBrowser-Token,
	// api_key, X-Emby-Authorization, the "Emby" scheme). Ignored for Emby, which always
	// accepts them.
	LegacyAuth bool

	// PlayedFraction and ResumeFraction are the shares of generated movies and episodes each
	// user starts with played, or part-watched. Derived per (user, item) from the seed.
	PlayedFraction float64
	ResumeFraction float64

	Now      func() time.Time // server clock; default time.Now
	Location *time.Location   // server local zone for Jellyfin's webhook Timestamp; default UTC

	Webhooks         []WebhookTarget
	WebhookServerURL string       // Jellyfin plugin's ServerUrl setting (captures show "")
	WebhookClient    *http.Client // default: a client with a 10 s timeout

	Logger zerolog.Logger
	// DisableRecording stops keeping every request (benchmarks serving 100k items).
	DisableRecording bool
}

func (c *Config) applyDefaults() {
	if c.Version == "" {
		if c.Flavor == Emby {
			c.Version = "4.8.11.0"
		} else {
			c.Version = "10.11.11"
		}
	}
	if c.ServerName == "" {
		c.ServerName = "keepwatch-fake-" + c.Flavor.String()
	}
	if c.Series > 0 {
		if c.SeasonsPerSeries == 0 {
			c.SeasonsPerSeries = 2
		}
		if c.EpisodesPerSeason == 0 {
			c.EpisodesPerSeason = 10
		}
	}
	if len(c.Users) == 0 {
		c.Users = []UserSpec{{Name: "admin", Admin: true}}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Location == nil {
		c.Location = time.UTC
	}
	if c.WebhookClient == nil {
		c.WebhookClient = &http.Client{Timeout: 10 * time.Second}
	}
}

func (c *Config) validate() error {
	if c.Flavor != Jellyfin && c.Flavor != Emby {
		return fmt.Errorf("fakeserver: Flavor %v is not Jellyfin or Emby", c.Flavor)
	}
	if _, err := parseVersion(c.Version); err != nil {
		return fmt.Errorf("fakeserver: Version %q: %w (use dotted numbers like %q)", c.Version, err, map[Flavor]string{Jellyfin: "10.11.11", Emby: "4.8.11.0"}[c.Flavor])
	}
	for name, n := range map[string]int{"Movies": c.Movies, "Series": c.Series, "SeasonsPerSeries": c.SeasonsPerSeries, "EpisodesPerSeason": c.EpisodesPerSeason} {
		if n < 0 {
			return fmt.Errorf("fakeserver: %s is %d; it must be 0 or more", name, n)
		}
	}
	total := int64(c.Movies) + int64(c.Series)*(1+int64(c.SeasonsPerSeries)*(1+int64(c.EpisodesPerSeason)))
	if total > 50_000_000 {
		return fmt.Errorf("fakeserver: the library would hold %d items; keep it under 50,000,000", total)
	}
	for name, f := range map[string]float64{"PlayedFraction": c.PlayedFraction, "ResumeFraction": c.ResumeFraction} {
		if f < 0 || f > 1 {
			return fmt.Errorf("fakeserver: %s is %v; it must be between 0 and 1", name, f)
		}
	}
	if c.PlayedFraction+c.ResumeFraction > 1 {
		return fmt.Errorf("fakeserver: PlayedFraction + ResumeFraction is %v; it must not exceed 1", c.PlayedFraction+c.ResumeFraction)
	}
	if c.ServerID != "" && !isHex32(c.ServerID) {
		return fmt.Errorf("fakeserver: ServerID %q must be 32 hex digits without dashes", c.ServerID)
	}
	seen := map[string]bool{}
	for i, u := range c.Users {
		if strings.TrimSpace(u.Name) == "" {
			return fmt.Errorf("fakeserver: Users[%d].Name is empty; give every user a name", i)
		}
		key := strings.ToLower(u.Name)
		if seen[key] {
			return fmt.Errorf("fakeserver: Users[%d].Name %q is used twice (names are case-insensitive)", i, u.Name)
		}
		seen[key] = true
		if u.ID != "" && !isHex32(u.ID) {
			return fmt.Errorf("fakeserver: Users[%d].ID %q must be 32 hex digits without dashes", i, u.ID)
		}
	}
	for i, w := range c.Webhooks {
		u, err := url.Parse(w.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("fakeserver: Webhooks[%d].URL %q is not an absolute http(s) URL", i, w.URL)
		}
		switch {
		case c.Flavor == Jellyfin && w.Format == FormatMultipart:
			return fmt.Errorf("fakeserver: Webhooks[%d].Format multipart is Emby's encoding; Jellyfin sends FormatDefault, FormatJSON or FormatForm", i)
		case c.Flavor == Emby && w.Format == FormatForm:
			return fmt.Errorf("fakeserver: Webhooks[%d].Format form is Jellyfin's Generic Form; Emby sends FormatDefault, FormatJSON or FormatMultipart", i)
		}
		for _, name := range w.Users {
			if !seen[strings.ToLower(name)] {
				return fmt.Errorf("fakeserver: Webhooks[%d].Users names %q, which is not in Users", i, name)
			}
		}
	}
	return nil
}
