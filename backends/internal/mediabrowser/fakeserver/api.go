package fakeserver

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Test-facing API: identity, items, user data and library changes, without HTTP.

// Flavor is the impersonated server.
func (s *Server) Flavor() Flavor { return s.cfg.Flavor }

// Version is the server version the fake reports.
func (s *Server) Version() string { return s.cfg.Version }

// ServerID is /System/Info's Id (32 hex digits).
func (s *Server) ServerID() string { return s.serverID }

// ServerName is /System/Info's ServerName.
func (s *Server) ServerName() string { return s.cfg.ServerName }

// APIKey is an API key: it authenticates as an administrator acting for no user.
func (s *Server) APIKey() string { return s.apiKey }

// Users returns the accounts with their ids and access tokens filled in.
func (s *Server) Users() []UserSpec { return append([]UserSpec(nil), s.users...) }

// UserID is the id of the named user ("" when there is none).
func (s *Server) UserID(name string) string {
	if u := s.userByName(name); u >= 0 {
		return s.users[u].ID
	}
	return ""
}

// UserToken is the named user's access token ("" when there is none).
func (s *Server) UserToken(name string) string {
	if u := s.userByName(name); u >= 0 {
		return s.users[u].Token
	}
	return ""
}

// Library is one of the server's libraries (views).
type Library struct {
	ID             string
	Name           string
	CollectionType string // movies, tvshows, music
}

// Libraries lists the libraries: Movies, Shows and an empty Music library.
func (s *Server) Libraries() []Library {
	out := make([]Library, viewCount)
	for v := 0; v < viewCount; v++ {
		out[v] = Library{ID: s.itemID(int32(v)), Name: viewNames[v], CollectionType: viewCollectionTypes[v]}
	}
	return out
}

// LibraryID is the id of the library with the given name or collection type.
func (s *Server) LibraryID(nameOrType string) string {
	for _, l := range s.Libraries() {
		if strings.EqualFold(l.Name, nameOrType) || strings.EqualFold(l.CollectionType, nameOrType) {
			return l.ID
		}
	}
	return ""
}

// Item is an item as a test sees it.
type Item struct {
	ID            string
	Type          string // Movie, Series, Season, Episode, CollectionFolder
	Name          string
	Year          int
	ProviderIDs   map[string]string // keys as the server spells them: Imdb, Tmdb, Tvdb
	LibraryID     string
	ParentID      string
	SeriesID      string // episodes and seasons
	SeasonID      string // episodes
	SeasonNumber  int    // episodes and seasons
	EpisodeNumber int    // episodes
	RunTime       time.Duration
	Path          string
	DateCreated   time.Time
	DateLastSaved time.Time
}

func (s *Server) toItem(r itemRec) Item {
	it := Item{
		ID: s.itemID(r.idx), Type: r.kind.typeName(), Name: r.name, Year: r.year,
		ProviderIDs: map[string]string{}, LibraryID: s.itemID(r.view), RunTime: time.Duration(r.runTicks * 100),
		Path: r.path, DateCreated: r.created, DateLastSaved: r.lastSaved,
	}
	for _, p := range r.providers {
		it.ProviderIDs[p.key] = p.val
	}
	if r.parent >= 0 {
		it.ParentID = s.itemID(r.parent)
	}
	switch r.kind {
	case kindEpisode:
		it.SeriesID, it.SeasonID = s.itemID(r.series), s.itemID(r.season)
		it.SeasonNumber, it.EpisodeNumber = r.parentIdx, r.index
	case kindSeason:
		it.SeriesID, it.SeasonNumber = s.itemID(r.series), r.index
	case kindView:
		it.LibraryID = ""
	}
	return it
}

// Item looks an item up by id.
func (s *Server) Item(id string) (Item, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	idx, ok, _ := s.parseItemID(id)
	if !ok {
		return Item{}, false
	}
	r, _ := s.item(idx)
	return s.toItem(r), true
}

// ItemCount is the number of movies, series, seasons and episodes (libraries excluded).
func (s *Server) ItemCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return int(s.itemCount()) - viewCount
}

// ItemFilter selects items for ListItems.
type ItemFilter struct {
	Types  []string // Movie, Series, Season, Episode; empty = all
	Offset int
	Limit  int // 0 = no limit
}

// ListItems lists items in library order with their provider ids.
func (s *Server) ListItems(f ItemFilter) []Item {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var mask uint8
	for _, t := range f.Types {
		if k, ok := kindFromTypeName(t); ok {
			mask |= 1 << k
		}
	}
	var out []Item
	n := 0
	s.forEachLibraryItem(func(idx int32) bool {
		if mask != 0 && mask&(1<<s.kindOf(idx)) == 0 {
			return true
		}
		n++
		if n <= f.Offset {
			return true
		}
		r, _ := s.item(idx)
		out = append(out, s.toItem(r))
		return f.Limit == 0 || len(out) < f.Limit
	})
	return out
}

// FindByProviderID finds the first item carrying provider id key=value (key
// case-insensitive, e.g. "imdb", "tt1000007").
func (s *Server) FindByProviderID(key, value string) (Item, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var found Item
	ok := false
	s.forEachLibraryItem(func(idx int32) bool {
		r, _ := s.item(idx)
		if v := providerValue(r.providers, key); v != "" && strings.EqualFold(v, value) {
			found, ok = s.toItem(r), true
			return false
		}
		return true
	})
	return found, ok
}

// MovieID is the id of the n-th generated movie (0-based).
func (s *Server) MovieID(n int) string {
	if n < 0 || n >= s.layout.movies {
		return ""
	}
	return s.itemID(s.layout.movieStart + int32(n))
}

// SeriesID is the id of the n-th generated series (0-based).
func (s *Server) SeriesID(n int) string {
	if n < 0 || n >= s.layout.series {
		return ""
	}
	return s.itemID(s.layout.seriesStart + int32(n))
}

// SeasonID is the id of season number season (1-based) of the n-th generated series.
func (s *Server) SeasonID(series, season int) string {
	l := &s.layout
	if series < 0 || series >= l.series || season < 1 || season > l.seasonsPer {
		return ""
	}
	return s.itemID(l.seasonStart + int32(series*l.seasonsPer+season-1))
}

// EpisodeID is the id of episode (1-based) of season (1-based) of the n-th generated series.
func (s *Server) EpisodeID(series, season, episode int) string {
	l := &s.layout
	if series < 0 || series >= l.series || season < 1 || season > l.seasonsPer || episode < 1 || episode > l.episodesPer {
		return ""
	}
	return s.itemID(l.episodeStart + int32((series*l.seasonsPer+season-1)*l.episodesPer+episode-1))
}

// NewItem describes an item to add.
type NewItem struct {
	Type        string // Movie, Series or Episode (a missing season is created)
	Name        string
	Year        int
	RunTime     time.Duration // default 45 minutes
	ProviderIDs map[string]string
	Path        string
	// Episodes: the series (an existing series id) and the numbers.
	SeriesID      string
	SeasonNumber  int
	EpisodeNumber int
}

// AddItem adds an item as a library scan would, and sends ItemAdded (Jellyfin, no user
// keys) or library.new (Emby) to the webhooks.
func (s *Server) AddItem(n NewItem) (Item, error) {
	k, ok := kindFromTypeName(n.Type)
	if !ok || (k != kindMovie && k != kindSeries && k != kindEpisode) {
		return Item{}, fmt.Errorf("fakeserver: add item: Type %q is not Movie, Series or Episode", n.Type)
	}
	if n.Name == "" {
		return Item{}, fmt.Errorf("fakeserver: add item: Name is empty")
	}
	now := s.cfg.Now()
	rt := ticks(n.RunTime)
	if rt == 0 && k != kindSeries {
		rt = 45 * 60 * ticksPerSecond
	}
	rec := itemRec{kind: k, name: n.Name, year: n.Year, created: now, lastSaved: now, runTicks: rt, path: n.Path, series: -1, season: -1}
	keys := make([]string, 0, len(n.ProviderIDs))
	for key := range n.ProviderIDs {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		rec.providers = append(rec.providers, kv{key, n.ProviderIDs[key]})
	}
	if n.Year > 0 {
		rec.premiere = time.Date(n.Year, 1, 1, 0, 0, 0, 0, time.UTC)
	}

	s.mu.Lock()
	var added []itemRec
	switch k {
	case kindMovie:
		rec.parent, rec.view = viewMovies, viewMovies
		if rec.path == "" {
			rec.path = "/media/movies/" + n.Name + "/" + n.Name + ".mkv"
		}
	case kindSeries:
		rec.parent, rec.view = viewShows, viewShows
		if rec.path == "" {
			rec.path = "/media/shows/" + n.Name
		}
	case kindEpisode:
		seriesIdx, ok, _ := s.parseItemID(n.SeriesID)
		if !ok || s.kindOf(seriesIdx) != kindSeries {
			s.mu.Unlock()
			return Item{}, fmt.Errorf("fakeserver: add item: SeriesID %q is not a series", n.SeriesID)
		}
		if n.SeasonNumber < 0 || n.EpisodeNumber < 1 {
			s.mu.Unlock()
			return Item{}, fmt.Errorf("fakeserver: add item: SeasonNumber %d / EpisodeNumber %d: use a season >= 0 and an episode >= 1", n.SeasonNumber, n.EpisodeNumber)
		}
		season := int32(-1)
		s.forEachChild(seriesIdx, func(c int32) bool {
			if r, _ := s.item(c); r.index == n.SeasonNumber {
				season = c
				return false
			}
			return true
		})
		series, _ := s.item(seriesIdx)
		if season < 0 {
			sr := itemRec{kind: kindSeason, name: fmt.Sprintf("Season %d", n.SeasonNumber), index: n.SeasonNumber, year: n.Year,
				created: now, lastSaved: now, path: series.path + "/Season " + pad(n.SeasonNumber, 2),
				parent: seriesIdx, series: seriesIdx, season: -1, view: viewShows}
			season = s.appendItem(sr)
			added = append(added, s.added[len(s.added)-1])
		}
		rec.parent, rec.series, rec.season, rec.view = season, seriesIdx, season, viewShows
		rec.index, rec.parentIdx = n.EpisodeNumber, n.SeasonNumber
		if rec.path == "" {
			rec.path = series.path + "/Season " + pad(n.SeasonNumber, 2) + "/" + n.Name + ".mkv"
		}
	}
	s.appendItem(rec)
	rec = s.added[len(s.added)-1]
	added = append(added, rec)
	var evs []hookEvent
	for _, a := range added {
		evs = append(evs, s.itemAddedEvent(a)...)
	}
	it := s.toItem(rec)
	s.mu.Unlock()
	s.hooks.send(evs...)
	return it, nil
}

// appendItem stores an added item and links it to its parent; the caller holds s.mu.
func (s *Server) appendItem(r itemRec) int32 {
	r.idx = s.itemCount()
	s.added = append(s.added, r)
	s.addedChildren[r.parent] = append(s.addedChildren[r.parent], r.idx)
	return r.idx
}

// TouchItem moves an item's DateLastSaved, as a metadata refresh or rescan does. This is
// what MinDateLastSaved (and, on Jellyfin, MinDateLastSavedForUser) filters on.
func (s *Server) TouchItem(id string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx, ok, _ := s.parseItemID(id)
	if !ok {
		return fmt.Errorf("fakeserver: touch item: no item %q", id)
	}
	if idx >= s.layout.generated {
		s.added[idx-s.layout.generated].lastSaved = at
		return nil
	}
	o := s.overrides[idx]
	o.lastSaved = at
	s.overrides[idx] = o
	return nil
}

// SetProviderIDs replaces an item's provider ids (a metadata match changing).
func (s *Server) SetProviderIDs(id string, ids map[string]string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx, ok, _ := s.parseItemID(id)
	if !ok {
		return fmt.Errorf("fakeserver: set provider ids: no item %q", id)
	}
	keys := make([]string, 0, len(ids))
	for k := range ids {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	p := []kv{}
	for _, k := range keys {
		p = append(p, kv{k, ids[k]})
	}
	if idx >= s.layout.generated {
		s.added[idx-s.layout.generated].providers = p
		return nil
	}
	o := s.overrides[idx]
	o.providers = p
	s.overrides[idx] = o
	return nil
}

// UserData is one user's state for one item.
type UserData struct {
	PlaybackPositionTicks int64
	PlayCount             int
	IsFavorite            bool
	Played                bool
	LastPlayedDate        time.Time // zero: null
	LastSaved             time.Time // when the server last wrote it (zero: never)
}

func toUserData(d userData) UserData {
	return UserData{PlaybackPositionTicks: d.position, PlayCount: d.playCount, IsFavorite: d.favorite, Played: d.played, LastPlayedDate: d.lastPlay, LastSaved: d.saved}
}

func (s *Server) lookup(user, itemID string) (int, int32, error) {
	u := s.userByName(user)
	if u < 0 {
		u = s.userIndex(user)
	}
	if u < 0 {
		return 0, 0, fmt.Errorf("fakeserver: no user named (or with id) %q", user)
	}
	idx, ok, _ := s.parseItemID(itemID)
	if !ok {
		return 0, 0, fmt.Errorf("fakeserver: no item %q", itemID)
	}
	return u, idx, nil
}

// UserData returns a user's state for an item (user by name or id).
func (s *Server) UserData(user, itemID string) (UserData, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, idx, err := s.lookup(user, itemID)
	if err != nil {
		return UserData{}, err
	}
	return toUserData(s.getUserData(u, idx)), nil
}

// SetUserData overwrites a user's state for an item, silently (test setup: no webhook).
// LastSaved is set to the server clock.
func (s *Server) SetUserData(user, itemID string, d UserData) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, idx, err := s.lookup(user, itemID)
	if err != nil {
		return err
	}
	s.putUserData(u, idx, userData{position: d.PlaybackPositionTicks, playCount: d.PlayCount, favorite: d.IsFavorite, played: d.Played, lastPlay: d.LastPlayedDate})
	return nil
}

// TogglePlayed is a person clicking "mark played" / "mark unplayed" in a web client. The web
// clients pass the current time as the play date, so a play is counted and LastPlayedDate
// becomes now; unplaying clears everything. Webhooks: Jellyfin UserDataSaved with SaveReason
// TogglePlayed, Emby item.markplayed / item.markunplayed.
func (s *Server) TogglePlayed(user, itemID string, played bool) error {
	s.mu.Lock()
	u, idx, err := s.lookup(user, itemID)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	r, _ := s.item(idx)
	var d userData
	if played {
		now := s.cfg.Now()
		d = s.markPlayed(u, idx, &now)
	} else {
		d = s.markUnplayed(u, idx)
	}
	evs := s.toggleEvent(u, r, d, played)
	s.mu.Unlock()
	s.hooks.send(evs...)
	return nil
}

// WrittenUserData lists the items whose user data was written for a user (through the API,
// playback, toggles or SetUserData), keyed by item id. Untouched seeded state is not listed.
func (s *Server) WrittenUserData(user string) map[string]UserData {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u := s.userByName(user)
	if u < 0 {
		u = s.userIndex(user)
	}
	out := map[string]UserData{}
	if u < 0 {
		return out
	}
	for idx, d := range s.userData[u] {
		out[s.itemID(idx)] = toUserData(d)
	}
	return out
}

// PlayedItemIDs lists the ids of the movies and episodes a user has played (seeded or
// written), in library order. It walks the whole library.
func (s *Server) PlayedItemIDs(user string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u := s.userByName(user)
	if u < 0 {
		return nil
	}
	var out []string
	s.forEachLibraryItem(func(idx int32) bool {
		if s.kindOf(idx).isVideo() && s.getUserData(u, idx).played {
			out = append(out, s.itemID(idx))
		}
		return true
	})
	return out
}
