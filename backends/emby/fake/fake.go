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
	Version4_7 = "4.7.13.0" // webhook bodies without Description; list UserData complete
	Version4_8 = "4.8.11.0" // the default
	Version4_1 = "4.1.1.0"  // before MinDateLastSavedForUser looked at user data
	Version4_9 = "4.9.5.0"
)

// Types shared with the Jellyfin fake.
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

// Webhook body encodings of Emby's native webhooks.
const (
	WebhookJSON      = fakeserver.FormatDefault   // application/json; charset=utf-8
	WebhookMultipart = fakeserver.FormatMultipart // multipart/form-data, JSON in the "data" field
)

// Options configure a fake Emby. The zero value is a 4.8.11.0 server with one administrator
// ("admin") and an empty library.
type Options struct {
	Version    string // default Version4_8
	ServerName string
	ServerID   string // 32 hex digits; derived from Seed when empty

	Seed              int64
	Movies            int
	Series            int
	SeasonsPerSeries  int // default 2 when Series > 0
	EpisodesPerSeason int // default 10 when Series > 0

	Users  []User
	APIKey string

	PlayedFraction float64
	ResumeFraction float64

	Now      func() time.Time
	Location *time.Location // server zone for the webhook Description line; default UTC

	Webhooks      []WebhookTarget
	WebhookClient *http.Client

	Logger           zerolog.Logger
	DisableRecording bool
}

// Config translates Options into the shared fake's configuration.
func (o Options) Config() fakeserver.Config {
	v := o.Version
	if v == "" {
		v = Version4_8
	}
	return fakeserver.Config{
		Flavor: fakeserver.Emby, Version: v, ServerName: o.ServerName, ServerID: o.ServerID,
		Seed: o.Seed, Movies: o.Movies, Series: o.Series, SeasonsPerSeries: o.SeasonsPerSeries, EpisodesPerSeason: o.EpisodesPerSeason,
		Users: o.Users, APIKey: o.APIKey, PlayedFraction: o.PlayedFraction, ResumeFraction: o.ResumeFraction,
		Now: o.Now, Location: o.Location, Webhooks: o.Webhooks, WebhookClient: o.WebhookClient,
		Logger: o.Logger, DisableRecording: o.DisableRecording,
	}
}

// New builds a fake Emby; the error names the bad option.
func New(o Options) (*Server, error) { return fakeserver.New(o.Config()) }

// MustNew is New for tests and the demo: it panics on bad options.
func MustNew(o Options) *Server { return fakeserver.MustNew(o.Config()) }

// Start builds a fake, serves it with httptest and registers cleanup (webhooks are flushed,
// then the listener closed). It fails the test on bad options.
func Start(tb testing.TB, o Options) (*Server, *httptest.Server) {
	tb.Helper()
	return fakeserver.Start(tb, o.Config())
}
