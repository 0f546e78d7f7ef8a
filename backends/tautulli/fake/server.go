package fake

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Options shape a fake. Zero values take the defaults in brackets.
type Options struct {
	// Seed varies the API key, the machine id, the users' ids and the
	// generated history [0].
	Seed uint64
	// APIKey is the key every call must carry [32 hex characters from Seed].
	APIKey string
	// Users is how many Plex users Tautulli knows besides its "Local"
	// pseudo-user [3]. The first is the server owner (is_admin 1).
	Users int
	// Movies, Shows, SeasonsPerShow and EpisodesPerSeason size the Plex
	// library the history refers to [20, 3, 2, 6].
	Movies, Shows, SeasonsPerShow, EpisodesPerSeason int
	// PlaysPerUser is how many history rows each user gets [40]. Any size
	// works: rows are about 100 bytes each.
	PlaysPerUser int
	// MachineID is the Plex server's machineIdentifier (pms_identifier,
	// {server_machine_id}) [40 hex characters from Seed].
	MachineID string
	// ServerName is the Plex server's name ["Fake Plex"].
	ServerName string
	// Location is the server's local time zone: Tautulli compares the
	// before/after/start_date filters as local dates [UTC-5].
	Location *time.Location
	// Now is the fake's clock; generated plays lie in the year before it
	// [2024-06-01 12:00 UTC].
	Now time.Time
	// WatchedPercent is Tautulli's MOVIE/TV_WATCHED_PERCENT: a row at or
	// above it has watched_status 1, at or above half of it 0.5 [85].
	WatchedPercent int
	// OmitWatchedStatus leaves watched_status out of get_history rows, so
	// a client's fallback on percent_complete can be tested [false].
	OmitWatchedStatus bool
	// WebhookMethod is the Webhook agent's "Webhook Method" setting,
	// which SendWebhook uses: Tautulli offers GET, POST, PUT, PATCH and
	// DELETE (its default is POST); the "Plex via Tautulli" guide says
	// PUT [PUT].
	WebhookMethod string
}

func (o *Options) defaults() {
	if o.APIKey == "" {
		o.APIKey = hexFrom(o.Seed, "apikey", 32)
	}
	if o.Users <= 0 {
		o.Users = 3
	}
	if o.Movies <= 0 && o.Shows <= 0 {
		o.Movies, o.Shows = 20, 3
	}
	if o.SeasonsPerShow <= 0 {
		o.SeasonsPerShow = 2
	}
	if o.EpisodesPerSeason <= 0 {
		o.EpisodesPerSeason = 6
	}
	if o.PlaysPerUser <= 0 {
		o.PlaysPerUser = 40
	}
	if o.MachineID == "" {
		o.MachineID = hexFrom(o.Seed, "machine", 40)
	}
	if o.ServerName == "" {
		o.ServerName = "Fake Plex"
	}
	if o.Location == nil {
		o.Location = time.FixedZone("UTC-5", -5*3600)
	}
	if o.Now.IsZero() {
		o.Now = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	}
	if o.WatchedPercent <= 0 {
		o.WatchedPercent = 85
	}
	if o.WebhookMethod == "" {
		o.WebhookMethod = http.MethodPut
	}
}

// User is a Tautulli user: a Plex account (user_id is the plex.tv id), or
// the "Local" pseudo-user with id 0.
type User struct {
	ID           int64
	Username     string
	FriendlyName string
	Email        string
	Admin        bool
}

// Section is a Plex library section as Tautulli knows it.
type Section struct {
	ID   int
	Name string
	Type string // movie, show, artist
}

// Item is a movie or an episode of the Plex library.
type Item struct {
	RatingKey int64
	Type      string // movie or episode
	SectionID int
	Title     string
	Year      int // the movie's year; for an episode its show's
	// GUID is the Plex agent string: plex://movie|episode/<24 hex>, or a
	// legacy com.plexapp.agents.* string for one item in ten.
	GUID string
	// IMDb, TMDb, TVDb are the ids Tautulli's {imdb_id}, {themoviedb_id},
	// {thetvdb_id} give: the movie's own, or for an episode its SHOW's.
	IMDb, TMDb, TVDb string
	Duration         time.Duration
	AddedAt          time.Time
	// Episode only.
	ShowRatingKey, SeasonRatingKey int64
	ShowTitle                      string
	Season, Episode                int
	AirDate                        string
}

// Play is one history row (one grouped session) of one user.
type Play struct {
	// RowID is the id of the row's last session; ReferenceID is the first
	// session's; GroupIDs lists every session (one, or two for a play
	// that was resumed later).
	RowID, ReferenceID int64
	GroupIDs           []int64
	UserID             int64
	RatingKey          int64
	// Started is the first session's start, Date the last session's
	// start, Stopped the last session's stop.
	Started, Date, Stopped time.Time
	PausedCounter          int64 // seconds
	PercentComplete        int
	Player, Platform       string
}

// WatchedStatus is Tautulli's watched_status for p: 1, 0.5 or 0.
func (s *Server) WatchedStatus(p Play) float64 {
	switch wp := s.opts.WatchedPercent; {
	case p.PercentComplete >= wp:
		return 1
	case float64(p.PercentComplete) >= float64(wp)/2:
		return 0.5
	}
	return 0
}

// Server is a fake Tautulli. It is an http.Handler for httptest; the API
// lives at any path ending in /api/v2, so a base URL with an HTTP root works.
type Server struct {
	opts Options

	mu       sync.Mutex
	users    []User // users[0] is Local
	sections []Section
	items    []Item
	byKey    map[int64]int
	plays    []Play // sorted by RowID
	nextRow  int64
	calls    map[string]int
	failures map[string]*failure
}

// New builds a fake with generated users, library and history.
func New(opts Options) *Server {
	opts.defaults()
	s := &Server{opts: opts, byKey: map[int64]int{}, calls: map[string]int{}, failures: map[string]*failure{}}
	s.generate()
	return s
}

// Start builds a fake and serves it with httptest until the test ends.
func Start(t testing.TB, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	s := New(opts)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

// APIKey is the key the fake accepts.
func (s *Server) APIKey() string { return s.opts.APIKey }

// MachineID is the Plex server's machine identifier.
func (s *Server) MachineID() string { return s.opts.MachineID }

// Now is the fake's clock.
func (s *Server) Now() time.Time { return s.opts.Now }

// Users lists the users as get_users does: Local first.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.users)
}

// Owner is the first Plex user, the server's admin.
func (s *Server) Owner() User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.users[1]
}

// Sections lists the library sections.
func (s *Server) Sections() []Section { return slices.Clone(s.sections) }

// Items lists the library's movies and episodes.
func (s *Server) Items() []Item {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.items)
}

// Item finds an item by rating key.
func (s *Server) Item(ratingKey int64) (Item, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.byKey[ratingKey]
	if !ok {
		return Item{}, false
	}
	return s.items[i], true
}

// History lists one user's rows, newest (by date) first.
func (s *Server) History(userID int64) []Play {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Play
	for _, p := range s.plays {
		if p.UserID == userID {
			out = append(out, p)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Date.After(out[j].Date) })
	return out
}

// AddPlay records a finished play of one session: the user played the item
// from started for the item's percent, and stopped. It answers the row.
func (s *Server) AddPlay(userID, ratingKey int64, started time.Time, percent int) (Play, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.byKey[ratingKey]
	if !ok {
		return Play{}, fmt.Errorf("fake tautulli: no item with rating key %d", ratingKey)
	}
	if !s.knownUser(userID) {
		return Play{}, fmt.Errorf("fake tautulli: no user %d", userID)
	}
	started = started.Truncate(time.Second)
	stopped := started.Add(s.items[i].Duration * time.Duration(percent) / 100).Truncate(time.Second)
	s.nextRow++
	p := Play{
		RowID: s.nextRow, ReferenceID: s.nextRow, GroupIDs: []int64{s.nextRow},
		UserID: userID, RatingKey: ratingKey, Started: started, Date: started, Stopped: stopped,
		PercentComplete: percent, Player: "Living Room TV", Platform: "Roku",
	}
	s.plays = append(s.plays, p)
	return p, nil
}

func (s *Server) knownUser(id int64) bool {
	for _, u := range s.users {
		if u.ID == id {
			return true
		}
	}
	return false
}

// Calls says how many times a command was called (with a valid key).
func (s *Server) Calls(cmd string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[cmd]
}

// Fail makes the next n calls of cmd answer status with Tautulli's error
// envelope ("Check the logs for errors" for 5xx). n < 0 fails until Fail is
// called again with n = 0.
func (s *Server) Fail(cmd string, status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n == 0 {
		delete(s.failures, cmd)
		return
	}
	s.failures[cmd] = &failure{status: status, left: n}
}

type failure struct{ status, left int }

// takeFailure answers the status to fail cmd with, or 0.
func (s *Server) takeFailure(cmd string) int {
	f, ok := s.failures[cmd]
	if !ok {
		return 0
	}
	if f.left > 0 {
		f.left--
		if f.left == 0 {
			delete(s.failures, cmd)
		}
	}
	return f.status
}

var _ http.Handler = (*Server)(nil)

func hexFrom(seed uint64, what string, n int) string {
	const digits = "0123456789abcdef"
	rng := rand.New(rand.NewPCG(seed, hashString(what)))
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[rng.IntN(16)]
	}
	return string(b)
}

func hashString(s string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s))
	return h.Sum64()
}

var (
	firstNames = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"}
	players    = []struct{ player, platform string }{
		{"SHIELD Android TV", "Android"}, {"Roku Ultra", "Roku"}, {"Chrome", "Chrome"}, {"Living Room TV", "Tizen"},
	}
)

// generate builds users, sections, items and history from the options. The
// catalog depends only on positions, like the Plex fake's, so both fakes
// of the same sizes describe the same films; the Seed varies ids and plays.
func (s *Server) generate() {
	o := s.opts
	rng := rand.New(rand.NewPCG(o.Seed, 0x7a07))
	s.users = []User{{ID: 0, Username: "Local", FriendlyName: "Local"}}
	for i := range o.Users {
		name := firstNames[i%len(firstNames)]
		if i >= len(firstNames) {
			name += strconv.Itoa(i / len(firstNames))
		}
		s.users = append(s.users, User{
			ID: 1_000_000 + int64(rng.IntN(9_000_000))*10 + int64(i), Username: name,
			FriendlyName: string(name[0]-'a'+'A') + name[1:], Email: name + "@example.com", Admin: i == 0,
		})
	}
	s.sections = []Section{{1, "Movies", "movie"}, {2, "TV Shows", "show"}, {3, "Music", "artist"}}

	key := int64(1000)
	added := o.Now.AddDate(-2, 0, 0)
	for i := range o.Movies {
		it := Item{
			RatingKey: key, Type: "movie", SectionID: 1, Title: fmt.Sprintf("Film %d", i+1), Year: 1980 + i%45,
			IMDb: fmt.Sprintf("tt%07d", 1_000_001+i), TMDb: strconv.Itoa(10_001 + i),
			Duration: time.Duration(85+i%60) * time.Minute, AddedAt: added.Add(time.Duration(i) * time.Hour),
		}
		if i%10 == 9 {
			it.GUID = "com.plexapp.agents.imdb://" + it.IMDb + "?lang=en"
		} else {
			it.GUID = "plex://movie/" + hexFrom(uint64(i), "movie", 24)
		}
		s.addItem(it)
		key++
	}
	for sh := range o.Shows {
		showKey := key
		key++
		title := fmt.Sprintf("Show %d", sh+1)
		tvdb, imdb, tmdb := strconv.Itoa(70_001+sh), fmt.Sprintf("tt%07d", 2_000_001+sh), strconv.Itoa(50_001+sh)
		for season := 1; season <= o.SeasonsPerShow; season++ {
			seasonKey := key
			key++
			for ep := 1; ep <= o.EpisodesPerSeason; ep++ {
				it := Item{
					RatingKey: key, Type: "episode", SectionID: 2, Title: fmt.Sprintf("Episode %d", ep), Year: 2000 + sh%25,
					IMDb: imdb, TMDb: tmdb, TVDb: tvdb, Duration: time.Duration(22+(ep%3)*20) * time.Minute,
					AddedAt: added.Add(time.Duration(int(key)) * time.Minute), ShowRatingKey: showKey, SeasonRatingKey: seasonKey,
					ShowTitle: title, Season: season, Episode: ep,
					AirDate: time.Date(2000+sh%25, time.Month(season), ep, 0, 0, 0, 0, time.UTC).Format(time.DateOnly),
				}
				if sh%10 == 9 {
					it.GUID = fmt.Sprintf("com.plexapp.agents.thetvdb://%s/%d/%d?lang=en", tvdb, season, ep)
				} else {
					it.GUID = "plex://episode/" + hexFrom(uint64(key), "episode", 24)
				}
				s.addItem(it)
				key++
			}
		}
	}
	s.generateHistory(rng)
}

func (s *Server) addItem(it Item) {
	s.byKey[it.RatingKey] = len(s.items)
	s.items = append(s.items, it)
}

// generateHistory gives every Plex user PlaysPerUser rows over the year
// before Now: mostly finished plays, some abandoned, some re-watches, and
// one in ten resumed later (a grouped row of two sessions, whose
// reference_id differs from its row_id, as in the real capture).
func (s *Server) generateHistory(rng *rand.Rand) {
	if len(s.items) == 0 {
		return
	}
	type session struct {
		user    int64
		item    int
		started time.Time
		percent int
		resumed time.Duration // > 0: a second session this long after the first
		player  int
	}
	var all []session
	for _, u := range s.users[1:] {
		for j := range s.opts.PlaysPerUser {
			it := rng.IntN(len(s.items))
			if j < 3 && j < len(s.items) {
				it = (j*7 + int(u.ID%5)) % len(s.items) // every user has at least three distinct items
			}
			ss := session{user: u.ID, item: it, player: rng.IntN(len(players))}
			ss.started = s.opts.Now.Add(-time.Duration(rng.Int64N(int64(365 * 24 * time.Hour)))).Truncate(time.Second)
			switch r := rng.IntN(100); {
			case r < 65:
				ss.percent = 90 + rng.IntN(11)
			case r < 85:
				ss.percent = 5 + rng.IntN(60)
			default:
				ss.percent = 60 + rng.IntN(30)
			}
			if rng.IntN(10) == 0 {
				ss.resumed = time.Duration(1+rng.IntN(48)) * time.Hour
			}
			all = append(all, ss)
		}
	}
	// Row ids grow with time, as Tautulli writes a row when a session stops.
	sort.SliceStable(all, func(i, j int) bool { return all[i].started.Before(all[j].started) })
	for _, ss := range all {
		it := s.items[ss.item]
		played := it.Duration * time.Duration(ss.percent) / 100
		p := Play{
			UserID: ss.user, RatingKey: it.RatingKey, Started: ss.started, Date: ss.started,
			PercentComplete: ss.percent, Player: players[ss.player].player, Platform: players[ss.player].platform,
		}
		s.nextRow++
		p.ReferenceID, p.RowID, p.GroupIDs = s.nextRow, s.nextRow, []int64{s.nextRow}
		p.Stopped = ss.started.Add(played).Truncate(time.Second)
		if ss.resumed > 0 {
			half := played / 2
			p.Date = ss.started.Add(half + ss.resumed).Truncate(time.Second)
			p.Stopped = p.Date.Add(played - half).Truncate(time.Second)
			s.nextRow++
			p.RowID = s.nextRow
			p.GroupIDs = append(p.GroupIDs, s.nextRow)
		}
		if p.Stopped.After(s.opts.Now) {
			continue // still playing: not history yet
		}
		s.plays = append(s.plays, p)
	}
}
