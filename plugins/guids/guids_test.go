package guids

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		source, id string
		want       string
		wantErr    error
	}{
		{"imdb", "tt0944947", "imdb:tt0944947", nil},
		{"Imdb", "TT0944947", "imdb:tt0944947", nil},
		{"Tmdb", "63056", "tmdb:63056", nil},
		{"themoviedb", "603", "tmdb:603", nil},
		{"thetvdb", "121361", "tvdb:121361", nil},
		{"TvRage", "24493", "tvrage:24493", nil},
		{"Tvmaze", "82", "tvmaze:82", nil},
		{"AniDB", "238801", "anidb:238801", nil},
		{"MyAnimeList", "5114", "mal:5114", nil},
		{"plex", "movie/5d776b85594b2b001e6dc641", "plex:movie/5d776b85594b2b001e6dc641", nil},
		{"imdb", "12345", "", ErrInvalid},
		{"imdb", "tt", "", ErrInvalid},
		{"tmdb", "abc", "", ErrInvalid},
		{"tmdb", "0", "", ErrInvalid},
		{"tmdb", "", "", ErrInvalid},
		{"tvdb", "-5", "", ErrInvalid},
		{"plex", "movie/xyz", "", ErrInvalid},
		{"TmdbCollection", "10", "", ErrUnknownSource},
		{"Official Website", "https://example.com", "", ErrUnknownSource},
		{"", "1", "", ErrUnknownSource},
	}
	for _, tt := range tests {
		t.Run(tt.source+":"+tt.id, func(t *testing.T) {
			got, err := Normalize(tt.source, tt.id)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Normalize(%q, %q) error = %v, want %v", tt.source, tt.id, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Normalize(%q, %q) = %q, want %q", tt.source, tt.id, got, tt.want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr error
	}{
		{"imdb:tt0944947", "imdb:tt0944947", nil},
		{"imdb://tt8910944", "imdb:tt8910944", nil}, // Plex Guid[] form
		{"tmdb://2061894", "tmdb:2061894", nil},
		{"tvdb://7547572", "tvdb:7547572", nil},
		{"Tvdb:234", "tvdb:234", nil}, // ProviderIds pair
		{" tmdb:603 ", "tmdb:603", nil},
		{"plex://episode/5e8339c4ec007c00412fee31", "plex:episode/5e8339c4ec007c00412fee31", nil},
		{"tt0944947", "", ErrInvalid},
		{"foo:1", "", ErrUnknownSource},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Parse(%q) error = %v, want %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Parse(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestPlexAgent(t *testing.T) {
	tests := []struct {
		in      string
		want    Agent
		wantErr error
	}{
		{"com.plexapp.agents.imdb://tt0123456?lang=en", Agent{GUIDs: []string{"imdb:tt0123456"}}, nil},
		{"com.plexapp.agents.imdb://tt0137523?lang=en", Agent{GUIDs: []string{"imdb:tt0137523"}}, nil},
		{"com.plexapp.agents.themoviedb://603?lang=en", Agent{GUIDs: []string{"tmdb:603"}}, nil},
		{"com.plexapp.agents.thetvdb://121361/6/1?lang=en", Agent{Show: "tvdb:121361", Season: 6, Episode: 1}, nil},
		{"com.plexapp.agents.thetvdb://81189/1/1", Agent{Show: "tvdb:81189", Season: 1, Episode: 1}, nil},
		{"com.plexapp.agents.thetvdbdvdorder://81189/2/3?lang=en", Agent{Show: "tvdb:81189", Season: 2, Episode: 3}, nil},
		{"com.plexapp.agents.themoviedb://1399/1/2?lang=en", Agent{Show: "tmdb:1399", Season: 1, Episode: 2}, nil},
		{"com.plexapp.agents.hama://anidb-23/1/5?lang=en", Agent{Show: "anidb:23", Season: 1, Episode: 5}, nil},
		{"com.plexapp.agents.hama://tvdb-81189/1/1?lang=en", Agent{Show: "tvdb:81189", Season: 1, Episode: 1}, nil},
		{"com.plexapp.agents.hama://anidb-23?lang=en", Agent{GUIDs: []string{"anidb:23"}}, nil},
		{"com.plexapp.agents.hama://tvdb2-81189/1/1?lang=en", Agent{}, nil},
		{"com.plexapp.agents.xbmcnfo://tt0137523?lang=xx", Agent{GUIDs: []string{"imdb:tt0137523"}}, nil},
		{"com.plexapp.agents.xbmcnfo://603?lang=xx", Agent{GUIDs: []string{"tmdb:603"}}, nil},
		{"com.plexapp.agents.xbmcnfotv://73739/1/1?lang=xx", Agent{Show: "tvdb:73739", Season: 1, Episode: 1}, nil},
		{"plex://movie/5d776b85594b2b001e6dc641", Agent{GUIDs: []string{"plex:movie/5d776b85594b2b001e6dc641"}}, nil},
		{"imdb://tt8910944", Agent{GUIDs: []string{"imdb:tt8910944"}}, nil},
		{"com.plexapp.agents.none://12345?lang=xn", Agent{}, nil},
		{"local://1234", Agent{}, nil},
		{"com.plexapp.agents.plexmusic://gracenote/track/7572499-91016293BE6BF7F1AB2F848F736E74E5/7572500-3CBAE310D4F3E66C285E104A1458B272?lang=en", Agent{}, nil},
		{"com.plexapp.agents.imdb://0123456?lang=en", Agent{}, ErrInvalid},
		{"com.plexapp.agents.thetvdb://81189/x/1", Agent{}, ErrInvalid},
		{"com.plexapp.agents.thetvdb://81189/1", Agent{}, ErrInvalid},
		{"com.plexapp.agents.hama://23/1/1", Agent{}, ErrInvalid},
		{"not a guid", Agent{}, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := PlexAgent(tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("PlexAgent(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestFromProviderIDs(t *testing.T) {
	tests := []struct {
		name string
		in   map[string]string
		want []string
	}{
		{"emby movie", map[string]string{"Tmdb": "569094", "Imdb": "tt9362722"}, []string{"imdb:tt9362722", "tmdb:569094"}},
		{"jellyfin webhook keys", map[string]string{"Provider_tmdb": "229210", "Provider_anidb": "238801"}, []string{"anidb:238801", "tmdb:229210"}},
		{"non-id keys skipped", map[string]string{"TmdbCollection": "10", "Official Website": "x", "Wikidata": "Q1", "Tvdb": "234"}, []string{"tvdb:234"}},
		{"bad values skipped", map[string]string{"Imdb": "", "Tmdb": "abc", "Tvdb": "81189"}, []string{"tvdb:81189"}},
		{"duplicates folded", map[string]string{"Tvdb": "1", "provider_tvdb": "1"}, []string{"tvdb:1"}},
		{"empty", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, FromProviderIDs(tt.in), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIsAbsent(t *testing.T) {
	for _, v := range []string{"", " ", "None", "null", "0", "{imdb_id}"} {
		if !IsAbsent(v) {
			t.Errorf("IsAbsent(%q) = false", v)
		}
	}
	for _, v := range []string{"tt0137523", "603", "x"} {
		if IsAbsent(v) {
			t.Errorf("IsAbsent(%q) = true", v)
		}
	}
}

// TestFixtureGUIDs parses every GUID spelling found in the real payloads under
// testdata/fixtures (copied from shared/fixtures): no id a real server sent may
// be rejected as malformed, and every external-id spelling must yield a GUID.
func TestFixtureGUIDs(t *testing.T) {
	files, err := filepath.Glob("testdata/fixtures/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	xmlGUID := regexp.MustCompile(`guid="([^"]+)"`)
	found := 0
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			check := func(where, s string) {
				found++
				got, err := PlexAgent(s)
				if err != nil {
					t.Errorf("%s: %q: %v", where, s, err)
					return
				}
				external := !strings.Contains(s, "plexmusic") && !strings.HasPrefix(s, "local://")
				if external && len(got.GUIDs) == 0 && got.Show == "" {
					t.Errorf("%s: %q yielded no guid", where, s)
				}
			}
			if strings.HasSuffix(f, ".xml") {
				for _, m := range xmlGUID.FindAllStringSubmatch(string(raw), -1) {
					check("xml guid", m[1])
				}
				return
			}
			var doc any
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			walkJSON(doc, "", func(path, key string, v any) {
				switch val := v.(type) {
				case string:
					lk := strings.ToLower(key)
					switch {
					case (lk == "guid" || lk == "id" || lk == "parentguid" || lk == "grandparentguid") && strings.Contains(val, "://"):
						check(path, val)
					case strings.HasPrefix(lk, "provider_"):
						found++
						if len(FromProviderIDs(map[string]string{key: val})) != 1 {
							t.Errorf("%s: %s=%q yielded no guid", path, key, val)
						}
					}
				case map[string]any:
					if key == "ProviderIds" {
						ids := map[string]string{}
						for k, x := range val {
							if s, ok := x.(string); ok {
								ids[k] = s
							}
						}
						found++
						if len(ids) > 0 && len(FromProviderIDs(ids)) == 0 {
							t.Errorf("%s: ProviderIds %v yielded no guid", path, ids)
						}
					}
				}
			})
		})
	}
	if found < 10 {
		t.Fatalf("only %d guid spellings found in fixtures; the walk is broken", found)
	}
}

func walkJSON(v any, path string, fn func(path, key string, v any)) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			fn(path+"."+k, k, c)
			walkJSON(c, path+"."+k, fn)
		}
	case []any:
		for _, c := range x {
			walkJSON(c, path+"[]", fn)
		}
	}
}

func TestRelative(t *testing.T) {
	if got := Relative("tvdb:121361", 1, 2); got != "tvdb:121361/1/2" {
		t.Errorf("Relative = %q, want tvdb:121361/1/2", got)
	}
}
