package fake_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/keepwatch/keepwatch/backends/plex/fake"
)

var update = flag.Bool("update", false, "rewrite testdata/golden files")

// TestGolden pins the exact bytes of a tiny deterministic library, so a change in
// the wire shape shows up as a diff to review (go test -update to accept it).
func TestGolden(t *testing.T) {
	clk := newClock()
	hook := newHookReceiver(t)
	srv, ts := start(t, fake.Options{Seed: 61, Movies: 2, Shows: 1, SeasonsPerShow: 1, EpisodesPerSeason: 2, LegacyFraction: 0.5, Now: clk.Now,
		Webhooks: []fake.Webhook{{URL: hook.ts.URL}}})
	movies, eps := srv.Items("movie"), srv.Items("episode")
	if err := srv.MarkWatched("alice", movies[0].RatingKey, clk.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetProgress("alice", eps[1].RatingKey, 7*time.Minute, clk.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := srv.Scrobble(t.Context(), "alice", eps[0].RatingKey); err != nil {
		t.Fatal(err)
	}
	tok := mustUser(t, srv, "alice").ServerToken
	cases := []struct {
		file   string
		path   string
		accept map[string]string
	}{
		{"sections.json", "/library/sections", jsonAccept},
		{"movies.json", "/library/sections/1/all?type=1&includeGuids=1&X-Plex-Container-Start=0&X-Plex-Container-Size=10", jsonAccept},
		{"movies.xml", "/library/sections/1/all?type=1&includeGuids=1", nil},
		{"episodes.json", "/library/sections/2/all?type=4&includeGuids=1", jsonAccept},
		{"show.json", "/library/metadata/" + eps[0].ShowRatingKey, jsonAccept},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			r := call(t, http.MethodGet, ts.URL+tc.path, tok, tc.accept)
			if r.status != 200 {
				t.Fatalf("status %d", r.status)
			}
			checkGolden(t, tc.file, r.body)
		})
	}
	t.Run("webhook_scrobble.json", func(t *testing.T) {
		hs := hook.take()
		if len(hs) != 1 {
			t.Fatalf("%d webhooks", len(hs))
		}
		d := srv.WebhookDeliveries()
		checkGolden(t, "webhook_scrobble.json", d[len(d)-1].Payload)
	})
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if filepath.Ext(name) == ".json" {
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, got, "", "  "); err != nil {
			t.Fatalf("invalid JSON: %v", err)
		}
		got = append(pretty.Bytes(), '\n')
	}
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-golden +got):\n%s", name, diff)
	}
}
