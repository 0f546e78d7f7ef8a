package fake

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/keepwatch/keepwatch/backends/internal/mediabrowser/fakeserver"
)

// Versions worth testing against.
const (
	Version10_8  = "10.8.13"  // before the 10.9 routes: legacy /Users/{userId}/... only
	Version10_11 = "10.11.11" // the default; legacy authorization on
	Version12    = "12.0.0"   // legacy authorization off by default
)

// Types shared with the Emby fake.
type (
	Server          = fakeserver.Server
	User            = fakeserver.UserSpec
	WebhookTarget   = fakeserver.WebhookTarget
	WebhookFormat   = fakeserver.WebhookFormat
	Item            = fakeserver.Item
	ItemFilter      = fakeserver.ItemFilter
	NewItem         = fakeserver.NewItem
	UserData        = fakeserver.UserData
	Library         = fakeserver.Library
	Playback        = fakeserver.Playback
	PlaybackOptions = fakeserver.PlaybackOptions
	Fault           = fakeserver.Fault
	Delivery        = fakeserver.Delivery
	RouteStats      = fakeserver.RouteStats
	RecordedRequest = fakeserver.RecordedRequest
)

// Webhook body encodings of the Webhook plugin.
const (
	WebhookText = fakeserver.FormatDefault // Generic destination: JSON as text/plain; charset=utf-8
	WebhookJSON = fakeserver.FormatJSON    // Generic destination with a Content-Type: application/json header
	WebhookForm = fakeserver.FormatForm    // Generic Form destination: x-www-form-urlencoded, values as text
)

// LegacyAuthMode is the server's EnableLegacyAuthorization setting.
type LegacyAuthMode uint8

const (
	// LegacyAuthDefault follows the version: on before 12.0 (10.11 added the setting
	// defaulting to true), off from 12.0.
	LegacyAuthDefault LegacyAuthMode = iota
	LegacyAuthOn
	LegacyAuthOff
)

// Options configure a fake Jellyfin. The zero value is a 10.11.11 server with one
// administrator ("admin") and an empty library.
type Options struct {
	Version    string // default Version10_11
	LegacyAuth LegacyAuthMode
	ServerName string
	ServerID   string // 32 hex digits; derived from Seed when empty

	Seed              int64
	Movies            int
	Series            int
	SeasonsPerSeries  int // default 2 when Series > 0
	EpisodesPerSeason int // default 10 when Series > 0

	Users  []User // the first administrator default is used when empty
	APIKey string // derived from Seed when empty

	// Shares of generated movies and episodes each user starts with played / part-watched.
	PlayedFraction float64
	ResumeFraction float64

	Now      func() time.Time // server clock; default time.Now
	Location *time.Location   // server zone for the webhook Timestamp key; default UTC

	Webhooks         []WebhookTarget
	WebhookServerURL string // the plugin's ServerUrl setting ("" in the captures)
	WebhookClient    *http.Client

	Logger           zerolog.Logger
	DisableRecording bool // do not keep every request (large benchmarks)
}

// Config translates Options into the shared fake's configuration.
func (o Options) Config() fakeserver.Config {
	v := o.Version
	if v == "" {
		v = Version10_11
	}
	legacy := true
	switch o.LegacyAuth {
	case LegacyAuthOn:
	case LegacyAuthOff:
		legacy = false
	default:
		// A version that does not parse is reported by fakeserver.New; here it keeps the
		// pre-12 default.
		if len(v) >= 3 && (v[:3] == "12." || v[:3] == "13.") {
			legacy = false
		}
	}
	return fakeserver.Config{
		Flavor: fakeserver.Jellyfin, Version: v, ServerName: o.ServerName, ServerID: o.ServerID,
		Seed: o.Seed, Movies: o.Movies, Series: o.Series, SeasonsPerSeries: o.SeasonsPerSeries, EpisodesPerSeason: o.EpisodesPerSeason,
		Users: o.Users, APIKey: o.APIKey, LegacyAuth: legacy,
		PlayedFraction: o.PlayedFraction, ResumeFraction: o.ResumeFraction,
		Now: o.Now, Location: o.Location,
		Webhooks: o.Webhooks, WebhookServerURL: o.WebhookServerURL, WebhookClient: o.WebhookClient,
		Logger: o.Logger, DisableRecording: o.DisableRecording,
	}
}

// New builds a fake Jellyfin; the error names the bad option.
func New(o Options) (*Server, error) { return fakeserver.New(o.Config()) }

// MustNew is New for tests and the demo: it panics on bad options.
func MustNew(o Options) *Server { return fakeserver.MustNew(o.Config()) }

// Start builds a fake, serves it with httptest and registers cleanup (webhooks are flushed,
// then the listener closed). It fails the test on bad options.
func Start(tb testing.TB, o Options) (*Server, *httptest.Server) {
	tb.Helper()
	return fakeserver.Start(tb, o.Config())
}
