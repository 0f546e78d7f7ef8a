package fakeservertest

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keepwatch/keepwatch/backends/internal/mediabrowser/fakeserver"
	"github.com/keepwatch/keepwatch/plugins"
)

// The library additions of CheckAdditions (and of the fake_* webhook bodies in the Jellyfin and
// Emby testdata, which are what the fakes sent for them).
var (
	NewMovie  = fakeserver.NewItem{Type: "Movie", Name: "Heat", Year: 1995, RunTime: 170 * time.Minute, ProviderIDs: map[string]string{"Imdb": "tt0113277", "Tmdb": "949"}}
	NewSeries = fakeserver.NewItem{Type: "Series", Name: "Severance", Year: 2022, ProviderIDs: map[string]string{"Tvdb": "371980"}}
)

// NewEpisode is the first episode of seriesID (NewSeries), which creates its season 1.
func NewEpisode(seriesID string) fakeserver.NewItem {
	return fakeserver.NewItem{Type: "Episode", Name: "Good News About Hell", RunTime: 57 * time.Minute, SeriesID: seriesID,
		SeasonNumber: 1, EpisodeNumber: 1, ProviderIDs: map[string]string{"Imdb": "tt11650328", "Tvdb": "7993475"}}
}

// AddedMovie is the WebhookResult.Added entry a parser must make of the addition of NewMovie
// as id; event is the server's name for an addition.
func AddedMovie(id, event string) plugins.Observation {
	return plugins.Observation{ItemID: id, Kind: plugins.KindMovie, Title: "Heat", Year: 1995,
		GUIDs: []string{"imdb:tt0113277", "tmdb:949"}, Duration: 170 * time.Minute, Event: event}
}

// AddedEpisode is the Added entry for NewEpisode(seriesID) added as id: the episode's own
// GUIDs (the servers send no series ids), the series' id and name, the numbers.
func AddedEpisode(id, seriesID, event string) plugins.Observation {
	return plugins.Observation{ItemID: id, Kind: plugins.KindEpisode, Title: "Good News About Hell",
		GUIDs: []string{"imdb:tt11650328", "tvdb:7993475"}, ShowID: seriesID, ShowTitle: "Severance", Season: 1, Episode: 1,
		Duration: 57 * time.Minute, Event: event}
}

// ParseFunc is a backend's webhook parser (jellyfin.ParseWebhook, emby.ParseWebhook).
type ParseFunc func(plugins.WebhookRequest) (plugins.WebhookResult, error)

// CheckAdditions adds NewMovie, then NewSeries and NewEpisode of it (which creates its season),
// to srv, whose webhooks go to sink, and checks what parse makes of the deliveries of each
// addition: exactly one WebhookResult.Added entry (AddedMovie, AddedEpisode) from the fake's
// server, with no account; the series and the season add nothing.
func CheckAdditions(t *testing.T, srv *fakeserver.Server, sink *Sink, parse ParseFunc, event string) {
	t.Helper()
	added := func(what string) []plugins.Observation {
		t.Helper()
		var all []plugins.Observation
		for _, h := range sink.Drain(t, srv) {
			res, err := parse(plugins.WebhookRequest{Method: http.MethodPost, Headers: h.Header, Body: h.Body})
			if err != nil {
				t.Fatalf("%s: the fake's webhook is rejected: %v\n%s", what, err, h.Body)
			}
			if res.Event != event || res.ServerID != srv.ServerID() || res.AccountID != "" || res.AccountName != "" || len(res.Observations) > 0 {
				t.Errorf("%s: result %+v, want a %s of server %s with no account and no observation", what, res, event, srv.ServerID())
			}
			if err := plugins.CheckWebhookResult(res); err != nil {
				t.Error(err)
			}
			all = append(all, res.Added...)
		}
		return all
	}

	movie, err := srv.AddItem(NewMovie)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]plugins.Observation{AddedMovie(movie.ID, event)}, added("movie")); diff != "" {
		t.Errorf("movie added (-want +got):\n%s", diff)
	}
	series, err := srv.AddItem(NewSeries)
	if err != nil {
		t.Fatal(err)
	}
	if got := added("series"); len(got) != 0 {
		t.Errorf("series added %+v, want nothing: its episodes come one by one", got)
	}
	ep, err := srv.AddItem(NewEpisode(series.ID))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]plugins.Observation{AddedEpisode(ep.ID, series.ID, event)}, added("episode and its new season")); diff != "" {
		t.Errorf("episode added, with the season it creates (-want +got):\n%s", diff)
	}
}
