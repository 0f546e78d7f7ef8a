package fake_test

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/keepwatch/keepwatch/backends/plex/fake"
)

// TestMediaQueries checks the filters and sorts a delta import relies on against a
// library whose state is set item by item, so the expected result is known.
func TestMediaQueries(t *testing.T) {
	clk := newClock()
	srv, ts := start(t, fake.Options{Seed: 11, Movies: 12, Shows: 2, SeasonsPerShow: 1, EpisodesPerSeason: 3, Now: clk.Now})
	tok := mustUser(t, srv, "alice").ServerToken
	movies := srv.Items("movie")
	rk := func(i int) string { return movies[i].RatingKey }
	now := clk.Now()
	since := now.Add(-24 * time.Hour)

	// 0: watched long ago; 1: watched yesterday+1h; 2: watched twice recently;
	// 3: in progress recently; 4: in progress long ago; 5: unwatched but metadata
	// refreshed recently; the rest untouched. bob watches 6 (alice must not see it).
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(srv.MarkWatched("alice", rk(0), now.Add(-30*24*time.Hour)))
	must(srv.MarkWatched("alice", rk(1), since.Add(time.Hour)))
	must(srv.MarkWatched("alice", rk(2), since.Add(2*time.Hour)))
	must(srv.MarkWatched("alice", rk(2), since.Add(3*time.Hour)))
	must(srv.SetProgress("alice", rk(3), 10*time.Minute, since.Add(4*time.Hour)))
	must(srv.SetProgress("alice", rk(4), 20*time.Minute, now.Add(-60*24*time.Hour)))
	must(srv.Touch(rk(5), now.Add(-time.Hour)))
	must(srv.MarkWatched("bob", rk(6), now.Add(-time.Minute)))

	untouched := func() []string {
		var out []string
		for i := 6; i < len(movies); i++ {
			out = append(out, rk(i))
		}
		return out
	}
	sinceS := strconv.FormatInt(since.Unix(), 10)
	tests := []struct {
		name    string
		query   string // raw, appended to /library/sections/1/all?type=1
		want    []string
		ordered bool
	}{
		{"viewed since, newest first", "&sort=lastViewedAt:desc&lastViewedAt>>=" + sinceS, []string{rk(3), rk(2), rk(1)}, true},
		{"percent-encoded operator key", "&" + url.QueryEscape("lastViewedAt>>") + "=" + sinceS, []string{rk(1), rk(2), rk(3)}, false},
		{"relative date", "&lastViewedAt>>=-1d", []string{rk(1), rk(2), rk(3)}, false},
		{"before", "&lastViewedAt<<=" + sinceS, []string{rk(0), rk(4)}, false},
		{"updated since", "&updatedAt>>=" + sinceS, []string{rk(5)}, false},
		{"viewed or updated since (push/or/pop)", "&push=1&lastViewedAt>>=" + sinceS + "&or=1&updatedAt>>=" + sinceS + "&pop=1", []string{rk(1), rk(2), rk(3), rk(5)}, false},
		{"watched", "&viewCount>>=0", []string{rk(0), rk(1), rk(2)}, false},
		{"watched twice", "&viewCount=2", []string{rk(2)}, false},
		{"unwatched=1", "&unwatched=1", append([]string{rk(3), rk(4), rk(5)}, untouched()...), false},
		{"unwatched=0", "&unwatched=0", []string{rk(0), rk(1), rk(2)}, false},
		{"inProgress=1", "&inProgress=1", []string{rk(3), rk(4)}, false},
		{"in progress since", "&inProgress=1&lastViewedAt>>=" + sinceS, []string{rk(3)}, false},
		{"viewOffset", "&viewOffset>>=900000", []string{rk(4)}, false},
		{"title equals", "&title==" + url.QueryEscape(movies[7].Title), []string{rk(7)}, false},
		{"limit", "&sort=lastViewedAt:desc&limit=2", []string{rk(3), rk(2)}, true},
		{"sort nullsLast asc", "&sort=lastViewedAt:nullsLast&limit=2", []string{rk(4), rk(0)}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv.ResetStats()
			got := ratingKeys(metadata(getJSON(t, ts.URL+"/library/sections/1/all?type=1"+tc.query, tok)))
			want := tc.want
			if !tc.ordered {
				got, want = sortedCopy(got), sortedCopy(want)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if ig := srv.IgnoredParams(); len(ig) != 0 {
				t.Errorf("ignored params %v", ig)
			}
		})
	}

	// PMS silently ignores what it does not understand, returning everything: the
	// fake does the same and records it.
	ignored := []struct{ name, query, param string }{
		{"encoded equals in operator", "&" + url.QueryEscape("updatedAt>=") + "=" + sinceS, "updatedAt>==" + sinceS},
		{"unknown field", "&watchedAt>>=" + sinceS, "watchedAt>>=" + sinceS},
		{"misspelt case", "&lastviewedat>>=" + sinceS, "lastviewedat>>=" + sinceS},
		{"unknown sort", "&sort=playedAt:desc", "sort=playedAt:desc"},
	}
	for _, tc := range ignored {
		t.Run("ignored/"+tc.name, func(t *testing.T) {
			srv.ResetStats()
			got := metadata(getJSON(t, ts.URL+"/library/sections/1/all?type=1"+tc.query, tok))
			if len(got) != len(movies) {
				t.Errorf("got %d items, want the whole section (%d)", len(got), len(movies))
			}
			if diff := cmp.Diff([]string{tc.param}, srv.IgnoredParams()); diff != "" {
				t.Errorf("IgnoredParams (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("unbalanced push", func(t *testing.T) {
		if r := call(t, "GET", ts.URL+"/library/sections/1/all?type=1&push=1&year=2000", tok, nil); r.status != 400 {
			t.Errorf("status %d, want 400", r.status)
		}
	})
}

func TestEpisodeQueries(t *testing.T) {
	clk := newClock()
	srv, ts := start(t, fake.Options{Seed: 12, Movies: 1, Shows: 3, SeasonsPerShow: 2, EpisodesPerSeason: 2, Now: clk.Now})
	tok := srv.Owner().ServerToken
	eps := srv.Items("episode")
	if len(eps) != 12 {
		t.Fatalf("%d episodes", len(eps))
	}
	// Default order: show title, season, episode.
	got := ratingKeys(metadata(getJSON(t, ts.URL+"/library/sections/2/all?type=4", tok)))
	type key struct {
		show string
		s, e int
		rk   string
	}
	titles := map[string]string{}
	for _, sh := range srv.Items("show") {
		titles[sh.RatingKey] = sh.Title
	}
	var want []key
	for _, e := range eps {
		want = append(want, key{show: titles[e.ShowRatingKey], s: e.Season, e: e.Episode, rk: e.RatingKey})
	}
	sort.Slice(want, func(i, j int) bool {
		a, b := want[i], want[j]
		at, bt := titleSortOf(a.show), titleSortOf(b.show)
		if at != bt {
			return at < bt
		}
		if a.s != b.s {
			return a.s < b.s
		}
		return a.e < b.e
	})
	var wantRKs []string
	for _, k := range want {
		wantRKs = append(wantRKs, k.rk)
	}
	if diff := cmp.Diff(wantRKs, got); diff != "" {
		t.Errorf("default episode order (-want +got):\n%s", diff)
	}

	if err := srv.MarkWatched("admin", eps[3].RatingKey, clk.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	since := strconv.FormatInt(clk.Now().Add(-2*time.Hour).Unix(), 10)
	for _, q := range []string{"&lastViewedAt>>=" + since, "&episode.lastViewedAt>>=" + since} {
		got := ratingKeys(metadata(getJSON(t, ts.URL+"/library/sections/2/all?type=4&sort=episode.addedAt"+q, tok)))
		if diff := cmp.Diff([]string{eps[3].RatingKey}, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", q, diff)
		}
	}
	// show.title on an episode query refers to the grandparent.
	show := srv.Items("show")[1]
	got = ratingKeys(metadata(getJSON(t, ts.URL+"/library/sections/2/all?type=4&show.title=="+url.QueryEscape(show.Title), tok)))
	if len(got) != 4 {
		t.Errorf("show.title filter: %d episodes, want 4", len(got))
	}
	// type=2 listing: a show with a watched episode is still unwatched (not all seen).
	shows := metadata(getJSON(t, ts.URL+"/library/sections/2/all?type=2&unwatched=0", tok))
	if len(shows) != 0 {
		t.Errorf("unwatched=0 shows: %v", ratingKeys(shows))
	}
	mc := getJSON(t, ts.URL+"/library/metadata/"+eps[3].ShowRatingKey, tok)
	if m := metadata(mc)[0]; num(t, m["viewedLeafCount"]) != 1 || !hasKey(m, "lastViewedAt") {
		t.Errorf("show aggregate: %v", m)
	}
	// A movie type in a show section lists nothing.
	if n := len(metadata(getJSON(t, ts.URL+"/library/sections/2/all?type=1", tok))); n != 0 {
		t.Errorf("type=1 in a show section: %d items", n)
	}
}

func titleSortOf(s string) string {
	for _, a := range []string{"The ", "A ", "An "} {
		if strings.HasPrefix(s, a) {
			return strings.ToLower(s[len(a):])
		}
	}
	return strings.ToLower(s)
}
