package fake_test

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/keepwatch/keepwatch/backends/plex/fake"
)

const unauthorizedBody = `<html><head><title>Unauthorized</title></head><body><h1>401 Unauthorized</h1></body></html>`

func TestAuth(t *testing.T) {
	srv, ts := start(t, fake.Options{Seed: 1})
	owner := srv.Owner()
	tests := []struct {
		name   string
		path   string
		token  string
		header map[string]string
		want   int
	}{
		{"header token", "/library/sections", owner.ServerToken, jsonAccept, 200},
		{"query token", "/library/sections?X-Plex-Token=" + owner.ServerToken, "", jsonAccept, 200},
		{"missing token", "/library/sections", "", jsonAccept, 401},
		{"wrong token", "/library/sections", "nope", jsonAccept, 401},
		{"plex.tv token is not a server token", "/library/sections", mustUser(t, srv, "alice").PlexTVToken, jsonAccept, 401},
		{"identity needs no token", "/identity", "", jsonAccept, 200},
		{"401 is HTML even for XML clients", "/library/sections/1/all", "bad", nil, 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, http.MethodGet, ts.URL+tc.path, tc.token, tc.header)
			if r.status != tc.want {
				t.Fatalf("status %d, want %d: %s", r.status, tc.want, r.body)
			}
			if tc.want == 401 {
				if string(r.body) != unauthorizedBody {
					t.Errorf("401 body %q, want %q", r.body, unauthorizedBody)
				}
				if ct := r.header.Get("Content-Type"); ct != "text/html" {
					t.Errorf("401 Content-Type %q, want text/html", ct)
				}
			}
		})
	}
}

func mustUser(t testing.TB, srv *fake.Server, ref string) fake.User {
	t.Helper()
	u, err := srv.User(ref)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestIdentityAndRoot(t *testing.T) {
	srv, ts := start(t, fake.Options{Seed: 3, FriendlyName: "Den"})
	id := getJSON(t, ts.URL+"/identity", "")
	if id["machineIdentifier"] != srv.MachineIdentifier() || id["version"] != fake.DefaultVersion || id["claimed"] != true {
		t.Errorf("/identity = %v", id)
	}
	if len(srv.MachineIdentifier()) != 40 {
		t.Errorf("machineIdentifier %q is not 40 hex", srv.MachineIdentifier())
	}
	root := getJSON(t, ts.URL+"/", srv.Owner().ServerToken)
	for k, want := range map[string]string{"machineIdentifier": srv.MachineIdentifier(), "friendlyName": "Den", "version": fake.DefaultVersion} {
		if root[k] != want {
			t.Errorf("/ %s = %v, want %q", k, root[k], want)
		}
	}
}

func TestSections(t *testing.T) {
	srv, ts := start(t, fake.Options{Seed: 1, Users: []fake.User{
		{Kind: fake.Owner, Username: "o", Email: "o@x"},
		{Kind: fake.SharedUser, Username: "friend", Email: "f@x", Sections: []string{"2"}},
	}})
	for _, path := range []string{"/library/sections", "/library/sections/all"} {
		mc := getJSON(t, ts.URL+path, srv.Owner().ServerToken)
		dirs := mc["Directory"].([]any)
		var got []string
		for _, d := range dirs {
			m := d.(map[string]any)
			loc := m["Location"].([]any)[0].(map[string]any)
			got = append(got, fmt.Sprintf("%s %s %s %s %v", m["key"], m["type"], m["title"], m["agent"], loc["path"] != ""))
			if m["uuid"] == "" {
				t.Errorf("%s: section %v has no uuid", path, m["key"])
			}
		}
		want := []string{"1 movie Movies tv.plex.agents.movie true", "2 show TV Shows tv.plex.agents.series true"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", path, diff)
		}
	}
	// A shared user sees only the sections shared with it.
	friend := mustUser(t, srv, "friend")
	mc := getJSON(t, ts.URL+"/library/sections", friend.ServerToken)
	if n := len(mc["Directory"].([]any)); n != 1 {
		t.Errorf("friend sees %d sections, want 1", n)
	}
	if r := call(t, "GET", ts.URL+"/library/sections/1/all", friend.ServerToken, jsonAccept); r.status != 404 {
		t.Errorf("unshared section: status %d, want 404", r.status)
	}
}

func TestPerTokenStateAndAbsentKeys(t *testing.T) {
	clk := newClock()
	srv, ts := start(t, fake.Options{Seed: 1, Now: clk.Now})
	alice, bob := mustUser(t, srv, "alice"), mustUser(t, srv, "bob")
	movie := srv.Items("movie")[0].RatingKey
	scrobble := ts.URL + "/:/scrobble?identifier=com.plexapp.plugins.library&key=" + movie
	unscrobble := ts.URL + "/:/unscrobble?identifier=com.plexapp.plugins.library&key=" + movie
	meta := ts.URL + "/library/metadata/" + movie

	item := func(tok string) map[string]any { return metadata(getJSON(t, meta, tok))[0] }
	for _, tok := range []string{alice.ServerToken, bob.ServerToken} {
		m := item(tok)
		for _, k := range []string{"viewCount", "lastViewedAt", "viewOffset"} {
			if hasKey(m, k) {
				t.Fatalf("fresh item has %s=%v; PMS leaves unset keys out", k, m[k])
			}
		}
	}

	r := call(t, http.MethodPut, scrobble, alice.ServerToken, nil)
	if r.status != 200 || len(r.body) != 0 {
		t.Fatalf("scrobble: %d %q, want 200 and no body", r.status, r.body)
	}
	m := item(alice.ServerToken)
	if num(t, m["viewCount"]) != 1 || num(t, m["lastViewedAt"]) != clk.Now().Unix() {
		t.Errorf("after scrobble alice sees viewCount=%v lastViewedAt=%v, want 1 and the server clock %d", m["viewCount"], m["lastViewedAt"], clk.Now().Unix())
	}
	if hasKey(item(bob.ServerToken), "viewCount") {
		t.Error("bob sees alice's scrobble: state must be per token")
	}

	clk.Advance(time.Hour)
	// GET works too, and a scrobble takes no date: a viewedAt parameter changes nothing.
	call(t, http.MethodGet, scrobble+"&viewedAt=1000", alice.ServerToken, nil)
	m = item(alice.ServerToken)
	if num(t, m["viewCount"]) != 2 || num(t, m["lastViewedAt"]) != clk.Now().Unix() {
		t.Errorf("second scrobble: viewCount=%v lastViewedAt=%v", m["viewCount"], m["lastViewedAt"])
	}

	if err := srv.SetProgress("alice", movie, 5*time.Minute, clk.Now()); err != nil {
		t.Fatal(err)
	}
	if num(t, item(alice.ServerToken)["viewOffset"]) != 300_000 {
		t.Error("viewOffset not served in ms")
	}
	call(t, http.MethodPut, unscrobble, alice.ServerToken, nil)
	m = item(alice.ServerToken)
	for _, k := range []string{"viewCount", "lastViewedAt", "viewOffset"} {
		if hasKey(m, k) {
			t.Errorf("after unscrobble %s=%v is present; unscrobble clears it", k, m[k])
		}
	}
	st, _ := srv.State("alice", movie)
	if st != (fake.State{}) {
		t.Errorf("State after unscrobble = %+v", st)
	}

	// XML leaves the attributes out too.
	r = call(t, http.MethodGet, meta, alice.ServerToken, nil)
	video := decodeXML(t, r.body).Nodes[0]
	if _, ok := video.attr("viewCount"); ok {
		t.Error("XML has viewCount after unscrobble")
	}
}

func TestScrobbleErrors(t *testing.T) {
	srv, ts := start(t, fake.Options{Seed: 1})
	tok := srv.Owner().ServerToken
	tests := []struct {
		query string
		want  int
	}{
		{"identifier=com.plexapp.plugins.library", 400},
		{"key=1001", 400},
		{"identifier=com.plexapp.plugins.library&key=999999", 404},
		{"identifier=other&key=1001", 404},
		{"identifier=com.plexapp.plugins.library&uri=" + url.QueryEscape("server://x/com.plexapp.plugins.library/library/metadata/1001"), 200},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			if r := call(t, http.MethodPut, ts.URL+"/:/scrobble?"+tc.query, tok, nil); r.status != tc.want {
				t.Errorf("status %d, want %d: %s", r.status, tc.want, r.body)
			}
		})
	}
}

func TestScrobbleShowMarksEpisodes(t *testing.T) {
	srv, ts := start(t, fake.Options{Seed: 1, Movies: 1, Shows: 1, SeasonsPerShow: 2, EpisodesPerSeason: 3})
	show := srv.Items("show")[0].RatingKey
	call(t, http.MethodPut, ts.URL+"/:/scrobble?identifier=com.plexapp.plugins.library&key="+show, srv.Owner().ServerToken, nil)
	mc := getJSON(t, ts.URL+"/library/sections/2/all?type=2", srv.Owner().ServerToken)
	m := metadata(mc)[0]
	if num(t, m["viewedLeafCount"]) != 6 || num(t, m["leafCount"]) != 6 {
		t.Errorf("show after scrobble: viewedLeafCount=%v leafCount=%v, want 6/6", m["viewedLeafCount"], m["leafCount"])
	}
}

// TestPaging checks container paging by headers and by query, the response headers,
// size 0 and HEAD, and that pages concatenate to the full listing.
func TestPaging(t *testing.T) {
	srv, ts := start(t, fake.Options{Seed: 2, Movies: 23})
	tok := srv.Owner().ServerToken
	base := ts.URL + "/library/sections/1/all?type=1"
	full := ratingKeys(metadata(getJSON(t, base, tok)))
	if len(full) != 23 {
		t.Fatalf("full listing has %d items, want 23", len(full))
	}
	for _, via := range []string{"query", "header"} {
		t.Run(via, func(t *testing.T) {
			var got []string
			for start := 0; ; start += 5 {
				u, hdr := base, map[string]string{"Accept": "application/json"}
				if via == "query" {
					u += fmt.Sprintf("&X-Plex-Container-Start=%d&X-Plex-Container-Size=5", start)
				} else {
					hdr["X-Plex-Container-Start"] = fmt.Sprint(start)
					hdr["X-Plex-Container-Size"] = "5"
				}
				r := call(t, http.MethodGet, u, tok, hdr)
				if r.header.Get("X-Plex-Container-Start") != fmt.Sprint(start) || r.header.Get("X-Plex-Container-Total-Size") != "23" {
					t.Fatalf("headers Start=%q Total-Size=%q", r.header.Get("X-Plex-Container-Start"), r.header.Get("X-Plex-Container-Total-Size"))
				}
				mc := decodeContainer(t, r.body)
				if num(t, mc["offset"]) != int64(start) || num(t, mc["totalSize"]) != 23 {
					t.Fatalf("body offset=%v totalSize=%v", mc["offset"], mc["totalSize"])
				}
				page := ratingKeys(metadata(mc))
				if int(num(t, mc["size"])) != len(page) {
					t.Fatalf("size %v but %d items", mc["size"], len(page))
				}
				if len(page) == 0 {
					break
				}
				got = append(got, page...)
			}
			if diff := cmp.Diff(full, got); diff != "" {
				t.Errorf("pages differ from the full listing (-full +pages):\n%s", diff)
			}
		})
	}
	t.Run("size 0 returns only the total", func(t *testing.T) {
		mc := getJSON(t, base+"&X-Plex-Container-Start=0&X-Plex-Container-Size=0", tok)
		if num(t, mc["size"]) != 0 || num(t, mc["totalSize"]) != 23 || hasKey(mc, "Metadata") {
			t.Errorf("size 0: %v", mc)
		}
	})
	t.Run("query wins over header", func(t *testing.T) {
		r := call(t, http.MethodGet, base+"&X-Plex-Container-Size=2", tok, map[string]string{"Accept": "application/json", "X-Plex-Container-Size": "7"})
		if n := len(metadata(decodeContainer(t, r.body))); n != 2 {
			t.Errorf("got %d items, want 2", n)
		}
	})
	t.Run("HEAD counts", func(t *testing.T) {
		r := call(t, http.MethodHead, base, tok, map[string]string{"X-Plex-Container-Start": "0", "X-Plex-Container-Size": "1000"})
		if r.status != 200 || r.header.Get("X-Plex-Container-Total-Size") != "23" || len(r.body) != 0 {
			t.Errorf("HEAD: %d total=%q body=%q", r.status, r.header.Get("X-Plex-Container-Total-Size"), r.body)
		}
	})
	t.Run("bad paging", func(t *testing.T) {
		if r := call(t, http.MethodGet, base+"&X-Plex-Container-Start=-1", tok, nil); r.status != 400 {
			t.Errorf("status %d, want 400", r.status)
		}
	})
}

func TestXMLMatchesJSON(t *testing.T) {
	srv, ts := start(t, fake.Options{Seed: 5, Movies: 4, Shows: 1, SeasonsPerShow: 1, EpisodesPerSeason: 3})
	if err := srv.MarkWatched("admin", srv.Items("episode")[1].RatingKey, time.Unix(1_700_000_000, 0)); err != nil {
		t.Fatal(err)
	}
	tok := srv.Owner().ServerToken
	for _, path := range []string{"/library/sections/1/all?type=1&includeGuids=1", "/library/sections/2/all?type=4&includeGuids=1", "/library/sections/2/all?type=2&includeGuids=1"} {
		t.Run(path, func(t *testing.T) {
			js := metadata(getJSON(t, ts.URL+path, tok))
			r := call(t, http.MethodGet, ts.URL+path, tok, nil)
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/xml") {
				t.Errorf("default Content-Type %q, want XML", ct)
			}
			root := decodeXML(t, r.body)
			if root.XMLName.Local != "MediaContainer" {
				t.Fatalf("root %q", root.XMLName.Local)
			}
			var items []xmlNode
			for _, n := range root.Nodes {
				items = append(items, n)
			}
			if len(items) != len(js) {
				t.Fatalf("XML has %d items, JSON %d", len(items), len(js))
			}
			for i, n := range items {
				wantTag := "Video"
				if js[i]["type"] == "show" {
					wantTag = "Directory"
				}
				if n.XMLName.Local != wantTag {
					t.Errorf("item %d is <%s>, want <%s>", i, n.XMLName.Local, wantTag)
				}
				// Every scalar JSON member is an XML attribute with the same text.
				for k, v := range js[i] {
					if _, isArr := v.([]any); isArr {
						continue
					}
					want := fmt.Sprint(v)
					if b, ok := v.(bool); ok {
						want = map[bool]string{true: "1", false: "0"}[b]
					}
					got, ok := n.attr(k)
					if !ok || got != want {
						t.Errorf("item %d %s: XML %q (present %v), JSON %q", i, k, got, ok, want)
					}
				}
				var xmlGuids []string
				for _, c := range n.Nodes {
					if c.XMLName.Local == "Guid" {
						id, _ := c.attr("id")
						xmlGuids = append(xmlGuids, id)
					}
				}
				if diff := cmp.Diff(guidIDs(js[i]), xmlGuids); diff != "" {
					t.Errorf("item %d Guid (-json +xml):\n%s", i, diff)
				}
			}
		})
	}
}

func TestGUIDs(t *testing.T) {
	srv, ts := start(t, fake.Options{Seed: 9, Movies: 60, Shows: 12, SeasonsPerShow: 1, EpisodesPerSeason: 2, LegacyFraction: 0.3})
	tok := srv.Owner().ServerToken

	byRK := map[string]fake.Item{}
	var legacyMovies, newMovies, legacyEps int
	for _, it := range srv.Items("") {
		byRK[it.RatingKey] = it
		switch {
		case it.Type == "movie" && it.Legacy:
			legacyMovies++
		case it.Type == "movie":
			newMovies++
		case it.Type == "episode" && it.Legacy:
			legacyEps++
		}
	}
	if legacyMovies == 0 || newMovies == 0 || legacyEps == 0 {
		t.Fatalf("want both agents: %d legacy movies, %d new, %d legacy episodes", legacyMovies, newMovies, legacyEps)
	}

	withGuids := metadata(getJSON(t, ts.URL+"/library/sections/1/all?type=1&includeGuids=1", tok))
	without := metadata(getJSON(t, ts.URL+"/library/sections/1/all?type=1", tok))
	for i, m := range withGuids {
		it := byRK[m["ratingKey"].(string)]
		g := m["guid"].(string)
		ids := guidIDs(m)
		if hasKey(without[i], "Guid") {
			t.Errorf("%s: Guid[] without includeGuids=1", it.RatingKey)
		}
		if it.Legacy {
			if !strings.HasPrefix(g, "com.plexapp.agents.imdb://tt") && !strings.HasPrefix(g, "com.plexapp.agents.themoviedb://") || !strings.HasSuffix(g, "?lang=en") {
				t.Errorf("legacy movie guid %q", g)
			}
			if len(ids) != 0 {
				t.Errorf("legacy movie %s has Guid[] %v", it.RatingKey, ids)
			}
			continue
		}
		if !strings.HasPrefix(g, "plex://movie/") || len(strings.TrimPrefix(g, "plex://movie/")) != 24 {
			t.Errorf("new-agent guid %q, want plex://movie/<24 hex>", g)
		}
		if len(ids) != 2 || !strings.HasPrefix(ids[0], "imdb://tt") || !strings.HasPrefix(ids[1], "tmdb://") {
			t.Errorf("movie Guid[] %v", ids)
		}
	}

	// Episodes: their own ids in Guid[]; the show's ids only on the show.
	eps := metadata(getJSON(t, ts.URL+"/library/sections/2/all?type=4&includeGuids=1", tok))
	for _, m := range eps {
		it := byRK[m["ratingKey"].(string)]
		for _, k := range []string{"grandparentRatingKey", "grandparentTitle", "parentIndex", "index", "duration", "addedAt", "updatedAt"} {
			if !hasKey(m, k) {
				t.Errorf("episode %s lacks %s", it.RatingKey, k)
			}
		}
		if it.Legacy {
			want := "com.plexapp.agents.thetvdb://"
			if g := m["guid"].(string); !strings.HasPrefix(g, want) || strings.Count(g, "/") != 4 {
				t.Errorf("legacy episode guid %q, want %s<show>/<s>/<e>?lang=en", g, want)
			}
			continue
		}
		show := metadata(getJSON(t, ts.URL+"/library/metadata/"+m["grandparentRatingKey"].(string), tok))[0]
		showIDs, epIDs := guidIDs(show), guidIDs(m)
		if len(showIDs) != 3 || len(epIDs) != 3 {
			t.Fatalf("show ids %v, episode ids %v", showIDs, epIDs)
		}
		for _, id := range epIDs {
			for _, sid := range showIDs {
				if id == sid {
					t.Errorf("episode %s carries its show's id %s", it.RatingKey, id)
				}
			}
		}
		if !strings.HasPrefix(m["guid"].(string), "plex://episode/") || !strings.HasPrefix(show["guid"].(string), "plex://show/") {
			t.Errorf("guids %v / %v", m["guid"], show["guid"])
		}
		if m["grandparentGuid"] != show["guid"] {
			t.Errorf("grandparentGuid %v, show guid %v", m["grandparentGuid"], show["guid"])
		}
	}
}

func TestMetadataMultiAndChildren(t *testing.T) {
	srv, ts := start(t, fake.Options{Seed: 1, Movies: 3, Shows: 1, SeasonsPerShow: 2, EpisodesPerSeason: 4})
	tok := srv.Owner().ServerToken
	movies := srv.Items("movie")
	mc := getJSON(t, ts.URL+"/library/metadata/"+movies[2].RatingKey+","+movies[0].RatingKey, tok)
	if diff := cmp.Diff([]string{movies[2].RatingKey, movies[0].RatingKey}, ratingKeys(metadata(mc))); diff != "" {
		t.Errorf("multi-key metadata (-want +got):\n%s", diff)
	}
	m := metadata(mc)[0]
	if m["librarySectionID"] == nil || m["librarySectionTitle"] != "Movies" {
		t.Errorf("metadata lacks section attributes: %v", m)
	}
	show := srv.Items("show")[0].RatingKey
	if n := len(metadata(getJSON(t, ts.URL+"/library/metadata/"+show+"/children", tok))); n != 2 {
		t.Errorf("show children: %d seasons, want 2", n)
	}
	if n := len(metadata(getJSON(t, ts.URL+"/library/metadata/"+show+"/allLeaves", tok))); n != 8 {
		t.Errorf("allLeaves: %d episodes, want 8", n)
	}
	if r := call(t, http.MethodGet, ts.URL+"/library/metadata/424242", tok, nil); r.status != 404 {
		t.Errorf("unknown ratingKey: %d, want 404", r.status)
	}
}

func TestAccounts(t *testing.T) {
	srv, ts := start(t, fake.Options{Seed: 1})
	mc := getJSON(t, ts.URL+"/accounts", srv.Owner().ServerToken)
	var got []string
	for _, a := range mc["Account"].([]any) {
		m := a.(map[string]any)
		got = append(got, fmt.Sprintf("%v=%v", m["id"], m["name"]))
	}
	var want []string
	want = append(want, "0=", "1=admin")
	for _, u := range srv.Users() {
		if u.Kind != fake.Owner {
			name := u.Username
			if name == "" {
				name = u.Title
			}
			want = append(want, fmt.Sprintf("%d=%s", u.ID, name))
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("/accounts (-want +got):\n%s", diff)
	}
	if r := call(t, http.MethodGet, ts.URL+"/accounts", mustUser(t, srv, "alice").ServerToken, nil); r.status != http.StatusForbidden {
		t.Errorf("non-owner /accounts: %d, want 403", r.status)
	}
}

func TestDeterminism(t *testing.T) {
	a := fake.MustNew(fake.Options{Seed: 7, Movies: 50, Shows: 3, SeasonsPerShow: 2, EpisodesPerSeason: 3})
	b := fake.MustNew(fake.Options{Seed: 7, Movies: 50, Shows: 3, SeasonsPerShow: 2, EpisodesPerSeason: 3})
	if diff := cmp.Diff(a.Items(""), b.Items("")); diff != "" {
		t.Errorf("same seed, different items (-a +b):\n%s", diff)
	}
	if diff := cmp.Diff(a.Users(), b.Users()); diff != "" {
		t.Errorf("same seed, different users (-a +b):\n%s", diff)
	}
	c := fake.MustNew(fake.Options{Seed: 8, Movies: 50, Shows: 3, SeasonsPerShow: 2, EpisodesPerSeason: 3, LegacyFraction: -1, RatingKeyBase: 50_000})
	if a.MachineIdentifier() == c.MachineIdentifier() || a.Owner().PlexTVToken == c.Owner().PlexTVToken {
		t.Error("different seeds share machine id or tokens")
	}
	// Same sizes = same catalog: the external ids of movie n agree across fakes.
	am, cm := a.Items("movie"), c.Items("movie")
	for i := range am {
		if am[i].Title != cm[i].Title {
			t.Fatalf("movie %d title %q vs %q", i, am[i].Title, cm[i].Title)
		}
		if !am[i].Legacy && fmt.Sprint(am[i].GUIDs) != fmt.Sprint(cm[i].GUIDs) {
			t.Fatalf("movie %d ids %v vs %v", i, am[i].GUIDs, cm[i].GUIDs)
		}
		if cm[i].RatingKey == am[i].RatingKey {
			t.Fatalf("RatingKeyBase ignored: %s", cm[i].RatingKey)
		}
	}
}

func TestOptionErrors(t *testing.T) {
	tests := []struct {
		name string
		opts fake.Options
		want string
	}{
		{"two owners", fake.Options{Users: []fake.User{{Kind: fake.Owner, Title: "a"}, {Kind: fake.Owner, Title: "b"}}}, "exactly one user"},
		{"no owner", fake.Options{Users: []fake.User{{Kind: fake.HomeUser, Title: "a"}}}, "exactly one user"},
		{"managed with email", fake.Options{Users: []fake.User{{Kind: fake.Owner, Title: "o"}, {Kind: fake.ManagedUser, Title: "k", Email: "k@x"}}}, "ManagedUser"},
		{"id 1", fake.Options{Users: []fake.User{{Kind: fake.Owner, Title: "o", ID: 1}}}, "Users[0].ID 1"},
		{"bad section type", fake.Options{Sections: []fake.SectionSpec{{Type: "photo"}}}, `Sections[0].Type "photo"`},
		{"too many episodes", fake.Options{Shows: 1, SeasonsPerShow: 1, EpisodesPerSeason: 150}, "at most"},
		{"legacy fraction", fake.Options{LegacyFraction: 2}, "LegacyFraction"},
		{"unknown shared section", fake.Options{Users: []fake.User{{Kind: fake.Owner, Title: "o"}, {Kind: fake.SharedUser, Title: "s", Sections: []string{"9"}}}}, `section "9"`},
		{"webhook account", fake.Options{Webhooks: []fake.Webhook{{URL: "http://x", Account: 5}}}, "Webhooks[0].Account"},
		{"owner webhook id", fake.Options{OwnerWebhookAccountID: 77}, "OwnerWebhookAccountID"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := fake.New(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestAddItem(t *testing.T) {
	clk := newClock()
	hooks := newHookReceiver(t)
	srv, ts := start(t, fake.Options{Seed: 1, Movies: 2, Shows: 1, SeasonsPerShow: 1, EpisodesPerSeason: 1, Now: clk.Now,
		Webhooks: []fake.Webhook{{URL: hooks.ts.URL}}})
	ctx := t.Context()
	mov, err := srv.AddItem(ctx, fake.ItemSpec{Type: "movie", Title: "Brand New", Year: 2025, GUIDs: []string{"imdb://tt9999999"}})
	if err != nil {
		t.Fatal(err)
	}
	if mov.AddedAt != clk.Now().Unix() || mov.Title != "Brand New" || !strings.HasPrefix(mov.GUID, "plex://movie/") {
		t.Errorf("added movie %+v", mov)
	}
	ep, err := srv.AddItem(ctx, fake.ItemSpec{Type: "episode", ShowTitle: "New Show", Season: 2, Episode: 5})
	if err != nil {
		t.Fatal(err)
	}
	if ep.Season != 2 || ep.Episode != 5 || ep.ShowRatingKey == "" {
		t.Errorf("added episode %+v", ep)
	}
	if _, err := srv.AddItem(ctx, fake.ItemSpec{Type: "episode", ShowRatingKey: ep.ShowRatingKey, Season: 2, Episode: 5}); err == nil {
		t.Error("duplicate episode accepted")
	}
	hs := hooks.take()
	if diff := cmp.Diff([]string{"library.new", "library.new"}, events(hs)); diff != "" {
		t.Fatalf("webhooks (-want +got):\n%s", diff)
	}
	if hs[0].thumb == nil || hs[0].payload["Metadata"].(map[string]any)["title"] != "Brand New" {
		t.Errorf("library.new: thumb %d bytes, payload %v", len(hs[0].thumb), hs[0].payload)
	}
	got := ratingKeys(metadata(getJSON(t, ts.URL+"/library/sections/1/all?type=1&sort=addedAt:desc&X-Plex-Container-Size=1", srv.Owner().ServerToken)))
	if diff := cmp.Diff([]string{mov.RatingKey}, got); diff != "" {
		t.Errorf("newest movie (-want +got):\n%s", diff)
	}
}

// TestAddShowAndSeason: a show or season found whole by a scan is added with its
// episodes and announced once, as itself; allLeaves lists the episodes.
func TestAddShowAndSeason(t *testing.T) {
	hooks := newHookReceiver(t)
	srv, ts := start(t, fake.Options{Seed: 2, Movies: 1, Shows: 1, SeasonsPerShow: 1, EpisodesPerSeason: 2,
		Webhooks: []fake.Webhook{{URL: hooks.ts.URL}}})
	ctx := t.Context()
	tok := srv.Owner().ServerToken
	show, err := srv.AddItem(ctx, fake.ItemSpec{Type: "show", Title: "Whole Show", GUIDs: []string{"imdb://tt7777777", "tvdb://777"},
		Seasons: 2, Episodes: 3, Duration: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if show.Type != "show" || show.Title != "Whole Show" || !strings.HasPrefix(show.GUID, "plex://show/") ||
		!cmp.Equal(sortedCopy(show.GUIDs), []string{"imdb://tt7777777", "tvdb://777"}) {
		t.Errorf("added show %+v", show)
	}
	season, err := srv.AddItem(ctx, fake.ItemSpec{Type: "season", ShowRatingKey: show.RatingKey, Season: 3, Episodes: 2})
	if err != nil {
		t.Fatal(err)
	}
	if season.Type != "season" || season.Season != 3 || season.ShowRatingKey != show.RatingKey {
		t.Errorf("added season %+v", season)
	}
	for name, spec := range map[string]fake.ItemSpec{
		"existing season":   {Type: "season", ShowRatingKey: show.RatingKey, Season: 3},
		"season with title": {Type: "season", ShowRatingKey: show.RatingKey, Season: 4, Title: "Specials"},
		"season of nothing": {Type: "season", Season: 1},
		"show of a show":    {Type: "show", ShowRatingKey: show.RatingKey},
		"too many episodes": {Type: "show", Episodes: 100},
	} {
		if _, err := srv.AddItem(ctx, spec); err == nil {
			t.Errorf("%s: AddItem(%+v) accepted", name, spec)
		}
	}

	hs := hooks.take()
	if diff := cmp.Diff([]string{"library.new", "library.new"}, events(hs)); diff != "" {
		t.Fatalf("webhooks (-want +got):\n%s", diff)
	}
	for i, want := range []struct{ typ, key, parent string }{{"show", show.RatingKey, ""}, {"season", season.RatingKey, show.RatingKey}} {
		m := hs[i].payload["Metadata"].(map[string]any)
		if m["type"] != want.typ || m["ratingKey"] != want.key || hs[i].thumb == nil {
			t.Errorf("library.new %d: Metadata %v, thumb %d bytes; want a %s with ratingKey %s", i, m, len(hs[i].thumb), want.typ, want.key)
		}
		if want.parent != "" && m["parentRatingKey"] != want.parent {
			t.Errorf("library.new of a season: parentRatingKey %v, want %s", m["parentRatingKey"], want.parent)
		}
	}

	type ep struct {
		season, episode int64
		show            string
		duration        int64
	}
	list := func(key string) []ep {
		var out []ep
		for _, m := range metadata(getJSON(t, ts.URL+"/library/metadata/"+key+"/allLeaves?includeGuids=1", tok)) {
			dur := int64(0)
			if d, ok := m["duration"]; ok {
				dur = num(t, d)
			}
			out = append(out, ep{num(t, m["parentIndex"]), num(t, m["index"]), m["grandparentRatingKey"].(string), dur})
		}
		return out
	}
	half := (30 * time.Minute).Milliseconds()
	want := []ep{{1, 1, show.RatingKey, half}, {1, 2, show.RatingKey, half}, {1, 3, show.RatingKey, half},
		{2, 1, show.RatingKey, half}, {2, 2, show.RatingKey, half}, {2, 3, show.RatingKey, half}}
	got := list(show.RatingKey)
	if diff := cmp.Diff(want, got[:min(len(got), 6)], cmp.AllowUnexported(ep{})); diff != "" || len(got) != 8 {
		t.Errorf("allLeaves of the show: %d episodes (-want +got first 6):\n%s", len(got), diff)
	}
	if got := list(season.RatingKey); len(got) != 2 || got[0].season != 3 || got[1].episode != 2 {
		t.Errorf("allLeaves of the season: %+v", got)
	}
}

func TestSeedWatched(t *testing.T) {
	srv := fake.MustNew(fake.Options{Seed: 4, Movies: 200})
	w, p, err := srv.SeedWatched("alice", 0.3, 0.1, 42)
	if err != nil {
		t.Fatal(err)
	}
	if len(w) < 30 || len(w) > 90 || len(p) < 5 || len(p) > 40 {
		t.Errorf("SeedWatched gave %d watched, %d in progress of 200", len(w), len(p))
	}
	st, _ := srv.State("alice", w[0])
	if st.ViewCount != 1 || st.LastViewedAt == 0 {
		t.Errorf("watched state %+v", st)
	}
	st, _ = srv.State("alice", p[0])
	if st.ViewOffsetMS < 60_000 || st.ViewCount != 0 || st.LastViewedAt == 0 {
		t.Errorf("in-progress state %+v", st)
	}
	st, _ = srv.State("bob", w[0])
	if st != (fake.State{}) {
		t.Errorf("bob got alice's state %+v", st)
	}
	if _, _, err := srv.SeedWatched("alice", 0.8, 0.5, 1); err == nil {
		t.Error("fractions over 1 accepted")
	}
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
