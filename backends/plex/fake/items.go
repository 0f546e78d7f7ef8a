package fake

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Item describes one metadata item as the fake serves it.
type Item struct {
	RatingKey string
	Type      string // movie, show, season, episode
	Section   string // section key
	Title     string
	Year      int
	// GUID is the guid attribute: plex://… or a legacy agent string.
	GUID string
	// GUIDs are the Guid[] ids (imdb://…, tmdb://…, tvdb://…); empty for legacy items.
	// An episode's are its own ids; its show's are on the show.
	GUIDs  []string
	Legacy bool
	// Show and season of an episode (Season holds the season of a season item too).
	ShowRatingKey   string
	SeasonRatingKey string
	Season          int // parentIndex of an episode, index of a season
	Episode         int // index of an episode
	DurationMS      int64
	AddedAt         int64
	UpdatedAt       int64
}

func (s *Server) publicItem(idx int32) Item {
	it := &s.items[idx]
	out := Item{
		RatingKey:  strconv.FormatInt(s.rk(idx), 10),
		Type:       it.kind.String(),
		Section:    s.sections[it.section].spec.Key,
		Title:      s.title(idx),
		Year:       int(it.year),
		GUID:       s.guid(idx),
		GUIDs:      s.externalGUIDs(idx),
		Legacy:     it.legacy,
		DurationMS: int64(it.duration),
		AddedAt:    it.addedAt,
		UpdatedAt:  it.updatedAt,
	}
	switch it.kind {
	case kindSeason:
		out.ShowRatingKey = strconv.FormatInt(s.rk(it.parent), 10)
		out.Season = int(it.index)
	case kindEpisode:
		out.ShowRatingKey = strconv.FormatInt(s.rk(it.grand), 10)
		out.SeasonRatingKey = strconv.FormatInt(s.rk(it.parent), 10)
		out.Season = int(s.items[it.parent].index)
		out.Episode = int(it.index)
	}
	return out
}

// Items lists the items of one type ("movie", "show", "season", "episode"; "" for all)
// in ratingKey order.
func (s *Server) Items(typ string) []Item {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Item
	for idx := range s.items {
		if typ == "" || s.items[idx].kind.String() == typ {
			out = append(out, s.publicItem(int32(idx)))
		}
	}
	return out
}

// Item returns the item with ratingKey.
func (s *Server) Item(ratingKey string) (Item, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	idx, ok := s.lookup(ratingKey)
	if !ok {
		return Item{}, false
	}
	return s.publicItem(idx), true
}

// Count is the number of items of a type ("movie", "show", "season", "episode").
func (s *Server) Count(typ string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := 0
	for _, sec := range s.sections {
		for k, idxs := range sec.byType {
			if k.String() == typ {
				n += len(idxs)
			}
		}
	}
	return n
}

// ItemSpec describes an item for AddItem. Zero fields are generated like the
// library's own items.
type ItemSpec struct {
	// Type is "movie", "episode", "season" or "show". An episode or a season creates
	// its show (and an episode its season) when needed; a season or a show comes
	// with its episodes, as a scan that finds a whole season or show adds them.
	Type    string
	Section string // section key; default the first section of the right type
	// Title names a movie, an episode or a show (a season is "Season N").
	Title string
	Year  int
	// GUID replaces the guid attribute; GUIDs replaces Guid[] (an empty non-nil slice
	// means none). Use legacy agent strings and nil GUIDs for a legacy item. They
	// describe a movie, an episode or a show.
	GUID  string
	GUIDs []string
	// Episodes and seasons: ShowRatingKey of an existing show, or ShowTitle for a new
	// one; Season number, and Episode number of an episode.
	ShowRatingKey string
	ShowTitle     string
	Season        int
	Episode       int
	// Seasons (shows) and Episodes (shows: per season; seasons) count what a new
	// show or season holds; default 1.
	Seasons  int
	Episodes int
	// Duration of a movie or an episode (of every episode of a show or season).
	Duration time.Duration
}

// AddItem adds an item, stamps addedAt/updatedAt with the server clock, and sends
// library.new to the configured webhooks (with a thumb part), as PMS does after a
// scan. A season or a show is announced once, as itself, not per episode (see the
// package documentation). It returns the new item.
func (s *Server) AddItem(ctx context.Context, spec ItemSpec) (Item, error) {
	s.mu.Lock()
	idx, err := s.addItemLocked(spec)
	if err != nil {
		s.mu.Unlock()
		return Item{}, err
	}
	item := s.publicItem(idx)
	deliveries := s.libraryNewLocked(idx)
	s.mu.Unlock()
	s.deliver(ctx, deliveries)
	return item, nil
}

func (s *Server) addItemLocked(spec ItemSpec) (int32, error) {
	var want string
	switch spec.Type {
	case "movie":
		want = "movie"
	case "episode", "season", "show":
		want = "show"
	default:
		return 0, fmt.Errorf("plex fake: AddItem: Type %q is not supported; use \"movie\", \"episode\", \"season\" or \"show\"", spec.Type)
	}
	secIdx := -1
	for i, sec := range s.sections {
		if (spec.Section == "" || sec.spec.Key == spec.Section) && sec.spec.Type == want {
			secIdx = i
			break
		}
	}
	if secIdx < 0 {
		return 0, fmt.Errorf("plex fake: AddItem: no %s section %q; add one through Options.Sections", want, spec.Section)
	}
	if spec.Year < 0 || spec.Year > 9999 || spec.Duration < 0 {
		return 0, fmt.Errorf("plex fake: AddItem: Year %d or Duration %v out of range", spec.Year, spec.Duration)
	}
	seasons, episodes := max(spec.Seasons, 1), max(spec.Episodes, 1)
	if spec.Seasons < 0 || spec.Episodes < 0 || seasons > maxSeasons || episodes > maxEpisodes {
		return 0, fmt.Errorf("plex fake: AddItem: Seasons %d and Episodes %d must be 0 (one) to %d and %d", spec.Seasons, spec.Episodes, maxSeasons, maxEpisodes)
	}
	a := adder{s: s, spec: spec, now: s.now().Unix(), seed: uint64(s.opts.Seed)}
	s.libVersion++
	switch spec.Type {
	case "movie":
		idx := s.appendGenerated(int16(secIdx), kindMovie, s.nextMovieOrd, 1, -1, -1, 0, a.seed)
		s.nextMovieOrd++
		a.describe(idx)
		return idx, nil
	case "show":
		if spec.ShowRatingKey != "" {
			return 0, fmt.Errorf("plex fake: AddItem: a show is new; ShowRatingKey %q names an existing one", spec.ShowRatingKey)
		}
		title := spec.Title
		if title == "" {
			title = spec.ShowTitle
		}
		show := a.newShow(int16(secIdx), title)
		a.describe(show)
		for n := 1; n <= seasons; n++ {
			a.newSeason(show, n, episodes)
		}
		return show, nil
	}

	if spec.Season < 1 || spec.Season > maxSeasons || (spec.Type == "episode" && (spec.Episode < 1 || spec.Episode > maxEpisodes)) {
		return 0, fmt.Errorf("plex fake: AddItem: %s needs Season 1..%d and Episode 1..%d, got %d and %d", spec.Type, maxSeasons, maxEpisodes, spec.Season, spec.Episode)
	}
	var show int32 = -1
	if spec.ShowRatingKey != "" {
		idx, ok := s.lookup(spec.ShowRatingKey)
		if !ok || s.items[idx].kind != kindShow {
			return 0, fmt.Errorf("plex fake: AddItem: ShowRatingKey %q is not a show", spec.ShowRatingKey)
		}
		show = idx
	} else {
		if spec.ShowTitle == "" {
			return 0, fmt.Errorf("plex fake: AddItem: Type %q needs ShowRatingKey of an existing show or ShowTitle for a new one", spec.Type)
		}
		show = a.newShow(int16(secIdx), spec.ShowTitle)
	}
	var season int32 = -1
	for _, c := range s.items[show].ext.children {
		if int(s.items[c].index) == spec.Season {
			season = c
		}
	}
	if spec.Type == "season" {
		if spec.Title != "" || spec.GUID != "" || spec.GUIDs != nil {
			return 0, fmt.Errorf("plex fake: AddItem: a season takes no Title, GUID or GUIDs (it is \"Season N\" of its show); set them on the show")
		}
		if season >= 0 {
			return 0, fmt.Errorf("plex fake: AddItem: show %d already has season %d (ratingKey %d)", s.rk(show), spec.Season, s.rk(season))
		}
		return a.newSeason(show, spec.Season, episodes), nil
	}
	if season < 0 {
		season = a.season(show, spec.Season)
	}
	for _, c := range s.items[season].ext.children {
		if int(s.items[c].index) == spec.Episode {
			return 0, fmt.Errorf("plex fake: AddItem: show %d season %d already has episode %d (ratingKey %d)", s.rk(show), spec.Season, spec.Episode, s.rk(c))
		}
	}
	idx := a.episode(season, spec.Episode)
	a.describe(idx)
	return idx, nil
}

// adder creates the items of one AddItem call. The caller holds s.mu.
type adder struct {
	s    *Server
	spec ItemSpec
	now  int64
	seed uint64
}

// describe applies the spec's title, ids, year and duration to the item AddItem
// returns (not to the seasons and episodes a new show or season brings along).
func (a *adder) describe(idx int32) {
	it := &a.s.items[idx]
	spec := a.spec
	if spec.Title != "" || spec.GUID != "" || spec.GUIDs != nil {
		if it.ext == nil {
			it.ext = &itemExt{}
		}
		if spec.Title != "" || it.kind != kindShow {
			it.ext.title = spec.Title
		}
		it.ext.guid = spec.GUID
		it.ext.guids = append([]string(nil), spec.GUIDs...)
		it.ext.noGUIDs = spec.GUIDs != nil && len(spec.GUIDs) == 0
	}
	switch {
	case spec.GUID != "":
		it.legacy = strings.HasPrefix(spec.GUID, "com.plexapp.agents.")
	case it.kind == kindMovie:
		it.legacy = false // a new scan matches with the section's (new) agent
	}
	if spec.Year != 0 {
		it.year = int16(spec.Year)
	}
	if spec.Duration != 0 && it.kind != kindShow {
		it.duration = int32(spec.Duration.Milliseconds())
	}
	it.addedAt, it.updatedAt = a.now, a.now
}

// newShow appends a show matched by the section's new agent.
func (a *adder) newShow(sec int16, title string) int32 {
	s := a.s
	show := s.appendGenerated(sec, kindShow, s.nextShowOrd, 1, -1, -1, 0, a.seed)
	s.nextShowOrd++
	sh := &s.items[show]
	sh.legacy = false
	sh.ext.title = title
	sh.addedAt, sh.updatedAt = a.now, a.now
	return show
}

// season appends season n to show.
func (a *adder) season(show int32, n int) int32 {
	s := a.s
	season := s.appendGenerated(s.items[show].section, kindSeason, s.items[show].ord, int16(n), show, -1, 0, a.seed)
	s.items[season].addedAt, s.items[season].updatedAt = a.now, a.now
	return season
}

// newSeason appends season n to show with episodes 1..episodes.
func (a *adder) newSeason(show int32, n, episodes int) int32 {
	season := a.season(show, n)
	for e := 1; e <= episodes; e++ {
		ep := a.episode(season, e)
		if a.spec.Duration != 0 {
			a.s.items[ep].duration = int32(a.spec.Duration.Milliseconds())
		}
	}
	return season
}

// episode appends episode n to season.
func (a *adder) episode(season int32, n int) int32 {
	s := a.s
	show := s.items[season].parent
	idx := s.appendGenerated(s.items[show].section, kindEpisode, s.items[show].ord, int16(n), season, show, 0, a.seed)
	s.items[idx].addedAt, s.items[idx].updatedAt = a.now, a.now
	return idx
}

// Touch moves an item's updatedAt to at, as a metadata refresh does. Play state
// changes never move updatedAt.
func (s *Server) Touch(ratingKey string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx, ok := s.lookup(ratingKey)
	if !ok {
		return fmt.Errorf("plex fake: Touch: no item with ratingKey %q", ratingKey)
	}
	s.items[idx].updatedAt = at.Unix()
	s.libVersion++
	return nil
}

// Users returns the configured accounts with their current tokens.
func (s *Server) Users() []User {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]User, len(s.accounts))
	for i, a := range s.accounts {
		out[i] = a.User
		out[i].Sections = append([]string(nil), a.Sections...)
	}
	return out
}

// User returns the account a reference (title, username, uuid, plex.tv id or token)
// names, with its current tokens.
func (s *Server) User(ref string) (User, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, err := s.findUser(ref)
	if err != nil {
		return User{}, err
	}
	return a.User, nil
}

// Owner returns the owner account.
func (s *Server) Owner() User {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.owner().User
}

func (s *Server) owner() *account {
	for _, a := range s.accounts {
		if a.Kind == Owner {
			return a
		}
	}
	panic("plex fake: no owner") // New guarantees one
}

// RotateServerToken gives user a new PMS token and returns it; the old one gets 401
// from then on. plex.tv (resources, shared_servers) hands out the new one, so a
// client can recover by asking again. For the owner this separates the server token
// from the plex.tv token.
func (s *Server) RotateServerToken(user string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.findUser(user)
	if err != nil {
		return "", err
	}
	delete(s.byServerTok, u.ServerToken)
	u.ServerToken = randToken(s.rng)
	s.byServerTok[u.ServerToken] = u
	return u.ServerToken, nil
}

// RotatePlexTVToken gives user a new plex.tv token and returns it; the old one gets
// 401 from plex.tv. The owner's server token is left as it was.
func (s *Server) RotatePlexTVToken(user string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.findUser(user)
	if err != nil {
		return "", err
	}
	delete(s.byPlexTVTok, u.PlexTVToken)
	u.PlexTVToken = randToken(s.rng)
	s.byPlexTVTok[u.PlexTVToken] = u
	return u.PlexTVToken, nil
}

// canSee reports whether user u may see section sec (shared users see only theirs).
func (u *account) canSee(sec *section) bool {
	if u.Kind != SharedUser || u.Sections == nil {
		return true
	}
	for _, k := range u.Sections {
		if k == sec.spec.Key {
			return true
		}
	}
	return false
}
