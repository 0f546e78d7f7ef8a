package client

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func load(t *testing.T, name string, out any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// TestDecodeFixtures decodes the captured and third-party API answers into the DTOs.
func TestDecodeFixtures(t *testing.T) {
	t.Run("played episode list (Jellyfin, real)", func(t *testing.T) {
		var p Page
		load(t, "api_items_list_episode_played_10.x.json", &p)
		if p.TotalRecordCount != 1 || len(p.Items) != 1 {
			t.Fatalf("%+v", p)
		}
		it := p.Items[0]
		want := UserData{PlayCount: 1, Played: true, LastPlayedDate: Time{time.Date(2024, 11, 21, 21, 4, 49, 571e6, time.UTC)}}
		if diff := cmp.Diff(want, *it.UserData); diff != "" || it.Type != "Episode" || it.SeriesID != "2738871dd7a147758c789d4755f965b6" || it.SeriesName != "One Piece" || it.IndexNumber != 3 || it.ParentIndexNumber != 1 {
			t.Errorf("episode %+v; user data diff:\n%s", it, diff)
		}
	})
	t.Run("series and movie (Played independent of PlayCount)", func(t *testing.T) {
		var p Page
		load(t, "api_items_list_series_and_movie_10.x.json", &p)
		m := p.Items[1]
		if m.Type != "Movie" || m.UserData.Played || m.UserData.PlayCount != 9 || m.UserData.LastPlayedDate.IsZero() {
			t.Errorf("movie %+v %+v", m, m.UserData)
		}
	})
	t.Run("library page", func(t *testing.T) {
		var p Page
		load(t, "mediabrowser_library_items_page.json", &p)
		it := p.Items[0]
		if it.ID != "item-1" || it.Path == "" || it.ProviderIDs["Imdb"] != "tt123" || Duration(it.UserData.PlaybackPositionTicks) != 90*time.Second {
			t.Errorf("%+v", it)
		}
	})
	t.Run("single items", func(t *testing.T) {
		var ep, movie Item
		load(t, "mediabrowser_item_metadata_episode.json", &ep)
		load(t, "mediabrowser_item_metadata_movie.json", &movie)
		if !ep.UserData.Played || ep.ParentIndexNumber != 1 || ep.IndexNumber != 1 || movie.UserData.Played || movie.UserData.PlaybackPositionTicks == 0 {
			t.Errorf("episode %+v, movie %+v", ep.UserData, movie.UserData)
		}
	})
	t.Run("views", func(t *testing.T) {
		var p Page
		load(t, "mediabrowser_user_views_libraries.json", &p)
		if len(p.Items) != 2 || p.Items[0].CollectionType != "movies" || p.Items[1].CollectionType != "tvshows" {
			t.Errorf("%+v", p.Items)
		}
	})
	t.Run("system info, users, auth", func(t *testing.T) {
		var info SystemInfo
		load(t, "mediabrowser_system_info.json", &info)
		var users []User
		load(t, "mediabrowser_users.json", &users)
		var auth struct {
			AccessToken string
			User        User
		}
		load(t, "mediabrowser_authenticate_by_name.json", &auth)
		if info.ID != "server-1" || info.Version != "10.9.0" || len(users) != 1 || !users[0].Policy.IsAdministrator || auth.AccessToken == "" || auth.User.ID == "" {
			t.Errorf("info %+v users %+v auth %+v", info, users, auth)
		}
	})
	t.Run("sessions", func(t *testing.T) {
		var ss []Session
		load(t, "mediabrowser_sessions.json", &ss)
		if !ss[0].Playing("user-1", "item-1") || ss[0].Playing("user-2", "item-1") || ss[1].Playing("user-2", "item-1") {
			t.Errorf("%+v", ss)
		}
	})
}

func TestTime(t *testing.T) {
	for in, want := range map[string]time.Time{
		`"2024-11-21T21:04:49.571Z"`:         time.Date(2024, 11, 21, 21, 4, 49, 571e6, time.UTC),
		`"2023-08-19T00:49:07.8523469Z"`:     time.Date(2023, 8, 19, 0, 49, 7, 852346900, time.UTC),
		`"2025-08-15T23:10:08.769802+02:00"`: time.Date(2025, 8, 15, 21, 10, 8, 769802000, time.UTC),
		`"2024-01-02T03:04:05.1234567"`:      time.Date(2024, 1, 2, 3, 4, 5, 123456700, time.UTC), // no zone: UTC
		`"0001-01-01T00:00:00.0000000Z"`:     {},
		`null`:                               {},
	} {
		var got Time
		if err := json.Unmarshal([]byte(in), &got); err != nil || !got.Equal(want) {
			t.Errorf("%s: %v, %v; want %v", in, got, err, want)
		}
	}
	var bad Time
	if err := json.Unmarshal([]byte(`"yesterday"`), &bad); err == nil {
		t.Error("a non-date decoded")
	}
}

func TestUnits(t *testing.T) {
	if Duration(56722609) != 5672260900*time.Nanosecond || Ticks(90*time.Second) != 900_000_000 {
		t.Error("ticks are 100 ns")
	}
	if !SameID("E6A9DD89-FD95-4D68-9870-E7E0E3E72947", "e6a9dd89fd954d689870e7e0e3e72947") || SameID("240270", "240271") {
		t.Error("SameID")
	}
	if got := Chunk([]string{"a", "b", "c", "d", "e"}, 2); len(got) != 3 || len(got[2]) != 1 {
		t.Errorf("Chunk: %v", got)
	}
	c := New(Options{Flavor: Jellyfin, ISODatePlayed: true})
	e := New(Options{Flavor: Emby, ISODatePlayed: true})
	at := time.Date(2024, 5, 1, 14, 30, 45, 0, time.FixedZone("CEST", 2*3600))
	if c.DatePlayed(at) != "2024-05-01T12:30:45.000Z" || e.DatePlayed(at) != "20240501123045" {
		t.Errorf("DatePlayed: %s %s", c.DatePlayed(at), e.DatePlayed(at))
	}
}

// TestEachPage pages a listing of 20 items from a server that answers what it
// is asked for, with and without a total and a growing page.
func TestEachPage(t *testing.T) {
	tests := []struct {
		name       string
		limit, max int
		noTotal    bool
		stopAfter  int // fn answers stop once it has seen this many items (0: never)
		wantLimits []string
	}{
		{"fixed pages", 8, 0, false, 0, []string{"8", "8", "8"}},
		{"growing pages", 2, 8, false, 0, []string{"2", "4", "8", "8"}},
		{"growing, no total: a short page ends it", 2, 8, true, 0, []string{"2", "4", "8", "8"}},
		{"stop", 2, 8, false, 5, []string{"2", "4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var limits []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				limits = append(limits, r.URL.Query().Get("Limit"))
				start, _ := strconv.Atoi(r.URL.Query().Get("StartIndex"))
				n, _ := strconv.Atoi(r.URL.Query().Get("Limit"))
				var items []Item
				for i := start; i < min(start+n, 20); i++ {
					items = append(items, Item{ID: strconv.Itoa(i)})
				}
				total := 20
				if tt.noTotal {
					total = 0
				}
				_ = json.NewEncoder(w).Encode(Page{Items: items, TotalRecordCount: total})
			}))
			defer srv.Close()
			c := New(Options{Flavor: Jellyfin, BaseURL: srv.URL, Token: "k"})
			var seen []string
			err := c.EachPage(t.Context(), "u", Query{Limit: tt.limit, MaxLimit: tt.max}, func(p Page) (bool, error) {
				for _, it := range p.Items {
					seen = append(seen, it.ID)
				}
				return tt.stopAfter > 0 && len(seen) >= tt.stopAfter, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantLimits, limits); diff != "" {
				t.Errorf("Limit of each request (-want +got):\n%s", diff)
			}
			want := 20
			if tt.stopAfter > 0 {
				want = 6 // the pages up to the stop: 2 + 4
			}
			if len(seen) != want {
				t.Errorf("saw %d items, want %d", len(seen), want)
			}
		})
	}
}
