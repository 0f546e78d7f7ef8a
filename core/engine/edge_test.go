package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keepwatch/keepwatch/core/model"
	"github.com/keepwatch/keepwatch/plugins"
)

func TestFromPlugin(t *testing.T) {
	played := time.Date(2026, 3, 1, 20, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		in          plugins.Observation
		want        model.Observation
		wantInvalid int
	}{
		{
			name: "movie with a bad guid among good ones",
			in: plugins.Observation{AccountID: "1", ItemID: "55", LibraryID: "1", LibraryName: "Movies", Kind: plugins.KindMovie,
				Title: "Heat", Year: 1995, GUIDs: []string{"imdb:tt0113277", "IMDB:tt1", "tmdb:949"}, Duration: time.Hour,
				State: plugins.State{WatchedKnown: true, Watched: true, PlayedAt: played, ProgressKnown: true, EventAt: played, PlayCount: 2}},
			want: model.Observation{Account: "1", RemoteID: "55", Library: "Movies",
				Item:       model.Item{Kind: model.KindMovie, Title: "Heat", Year: 1995, GUIDs: []model.GUID{"imdb:tt0113277", "tmdb:949"}, Duration: time.Hour},
				HasWatched: true, Watched: true, PlayedAt: played, HasProgress: true, EventAt: played},
			wantInvalid: 1,
		},
		{
			name: "episode progress from a source without completion",
			in: plugins.Observation{AccountID: "7", ItemID: "e1", LibraryID: "2", Kind: plugins.KindEpisode, Title: "Pilot",
				ShowTitle: "Show", ShowGUIDs: []string{"tvdb:81189", ":bad"}, Season: 1, Episode: 1,
				State: plugins.State{ProgressKnown: true, Progress: 20 * time.Minute, InferCompletion: true, Playing: true}},
			want: model.Observation{Account: "7", RemoteID: "e1", Library: "2",
				Item:        model.Item{Kind: model.KindEpisode, Title: "Pilot", ShowTitle: "Show", ShowGUIDs: []model.GUID{"tvdb:81189"}, Season: 1, Episode: 1},
				HasProgress: true, Progress: 20 * time.Minute, InferCompletion: true, Playing: true},
			wantInvalid: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, invalid := FromPlugin(tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("FromPlugin mismatch (-want +got):\n%s", diff)
			}
			if invalid != tt.wantInvalid {
				t.Errorf("invalid = %d, want %d", invalid, tt.wantInvalid)
			}
		})
	}
}

// recordingPlugin is a plugin's Exporter and Resolver that records what it
// was asked and answers from tables.
type recordingPlugin struct {
	applied  []plugins.Write
	outcomes map[string]plugins.WriteOutcome // by ItemID+kind; default ok
	found    map[string]string               // guid → item id
	lookedUp map[string]string               // guid → the account it was looked up for
	err      error
}

func (p *recordingPlugin) Apply(ctx context.Context, ws []plugins.Write) ([]plugins.WriteOutcome, error) {
	if p.err != nil {
		return nil, p.err
	}
	out := make([]plugins.WriteOutcome, len(ws))
	for i, w := range ws {
		p.applied = append(p.applied, w)
		out[i] = plugins.Succeeded()
		if oc, ok := p.outcomes[w.ItemID+"/"+string(w.Kind)]; ok {
			out[i] = oc
		}
	}
	return out, nil
}

func (p *recordingPlugin) Resolve(ctx context.Context, req plugins.ResolveRequest) ([]plugins.Resolution, error) {
	out := make([]plugins.Resolution, len(req.Queries))
	if p.lookedUp == nil {
		p.lookedUp = map[string]string{}
	}
	for i, q := range req.Queries {
		for _, g := range q.GUIDs {
			p.lookedUp[g] = req.AccountID
			if id, ok := p.found[g]; ok {
				out[i] = plugins.Resolution{ItemID: id}
			}
		}
	}
	return out, nil
}

func TestPluginWriter(t *testing.T) {
	played := time.Date(2026, 3, 1, 20, 0, 0, 0, time.UTC)
	movie := func(guid string) model.Item {
		return model.Item{Kind: model.KindMovie, Title: "M", GUIDs: []model.GUID{model.GUID(guid)}, Duration: time.Hour}
	}
	writes := []Write{
		{Account: "a1", RemoteID: "1", Item: movie("imdb:tt0000001"), State: model.State{Watched: true, PlayedAt: played}, SetWatched: true},
		{Account: "a1", RemoteID: "2", Item: movie("imdb:tt0000002"), State: model.State{Progress: 5 * time.Minute}, SetWatched: true, SetProgress: true},
		{Account: "a1", Item: movie("imdb:tt0000003"), State: model.State{Watched: true}, SetWatched: true},
		{Account: "a2", Item: movie("imdb:tt0000004"), State: model.State{Watched: true}, SetWatched: true},
		{Account: "a1", RemoteID: "5", Item: movie("imdb:tt0000005"), State: model.State{Progress: time.Minute}, SetProgress: true},
		{Account: "a1", RemoteID: "6", Item: movie("imdb:tt0000006"), State: model.State{Watched: true}, SetWatched: true},
		{Account: "a1", RemoteID: "7", Item: movie("imdb:tt0000007"), State: model.State{Watched: true}, SetWatched: true},
	}
	p := &recordingPlugin{
		found: map[string]string{"imdb:tt0000003": "3"},
		outcomes: map[string]plugins.WriteOutcome{
			"5/progress": plugins.SkippedPlaying(),
			"6/watched":  plugins.Failed(true, "item deleted"),
			"7/watched":  plugins.Failed(false, "busy"),
		},
	}
	got, err := PluginWriter{Exporter: p, Resolver: p}.Write(t.Context(), "jelly", writes)
	if err != nil {
		t.Fatal(err)
	}
	wantApplied := []plugins.Write{
		{AccountID: "a1", ItemID: "1", Kind: plugins.WriteWatched, PlayedAt: played, Duration: time.Hour},
		{AccountID: "a1", ItemID: "2", Kind: plugins.WriteUnwatched, Duration: time.Hour},
		{AccountID: "a1", ItemID: "2", Kind: plugins.WriteProgress, Progress: 5 * time.Minute, Duration: time.Hour},
		{AccountID: "a1", ItemID: "3", Kind: plugins.WriteWatched, Duration: time.Hour},
		{AccountID: "a1", ItemID: "5", Kind: plugins.WriteProgress, Progress: time.Minute, Duration: time.Hour},
		{AccountID: "a1", ItemID: "6", Kind: plugins.WriteWatched, Duration: time.Hour},
		{AccountID: "a1", ItemID: "7", Kind: plugins.WriteWatched, Duration: time.Hour},
	}
	if diff := cmp.Diff(wantApplied, p.applied); diff != "" {
		t.Errorf("plugin writes mismatch (-want +got):\n%s", diff)
	}
	// Each write is looked up in its own account's view: what a user may
	// see differs (restricted libraries), and a miss marks the record absent.
	if diff := cmp.Diff(map[string]string{"imdb:tt0000003": "a1", "imdb:tt0000004": "a2"}, p.lookedUp); diff != "" {
		t.Errorf("look-ups by account (-want +got):\n%s", diff)
	}
	type result struct {
		OK, Permanent, Absent, Skipped bool
		RemoteID                       string
	}
	var gotR []result
	for _, r := range got {
		gotR = append(gotR, result{OK: r.Err == nil, Permanent: r.Permanent, Absent: r.Absent, Skipped: r.Skipped, RemoteID: r.RemoteID})
	}
	wantR := []result{
		{OK: true, RemoteID: "1"}, {OK: true, RemoteID: "2"}, {OK: true, RemoteID: "3"},
		{Permanent: true, Absent: true}, // not on the backend: nothing to retry until it reports the item
		{OK: true, Skipped: true, RemoteID: "5"},
		{Permanent: true, RemoteID: "6"},
		{RemoteID: "7"},
	}
	if diff := cmp.Diff(wantR, gotR); diff != "" {
		t.Errorf("results mismatch (-want +got):\n%s", diff)
	}
	if !errors.Is(got[3].Err, errNotOnBackend) {
		t.Errorf("unresolved write error = %v, want errNotOnBackend", got[3].Err)
	}

	p.err = plugins.ErrUnavailable
	if _, err := (PluginWriter{Exporter: p}).Write(t.Context(), "jelly", writes[:1]); !errors.Is(err, plugins.ErrUnavailable) {
		t.Errorf("batch error = %v, want ErrUnavailable", err)
	}
}
