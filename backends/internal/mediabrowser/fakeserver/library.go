package fakeserver

import (
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// kind is the item type. The order matters: generated items are laid out in index ranges in
// this order (views, movies, series, seasons, episodes), then items added by tests follow.
type kind uint8

const (
	kindView kind = iota
	kindMovie
	kindSeries
	kindSeason
	kindEpisode
	kindCount
)

func (k kind) typeName() string {
	switch k {
	case kindView:
		return "CollectionFolder"
	case kindMovie:
		return "Movie"
	case kindSeries:
		return "Series"
	case kindSeason:
		return "Season"
	case kindEpisode:
		return "Episode"
	}
	return ""
}

func kindFromTypeName(s string) (kind, bool) {
	for k := kindView; k < kindCount; k++ {
		if strings.EqualFold(k.typeName(), s) {
			return k, true
		}
	}
	return 0, false
}

func (k kind) isFolder() bool { return k == kindView || k == kindSeries || k == kindSeason }

// isVideo: the kinds that carry their own played state.
func (k kind) isVideo() bool { return k == kindMovie || k == kindEpisode }

// Views (libraries). The music library is empty on purpose: clients must skip libraries
// whose CollectionType is not movies or tvshows.
const (
	viewMovies = 0
	viewShows  = 1
	viewMusic  = 2
	viewCount  = 3
)

var viewNames = [viewCount]string{"Movies", "Shows", "Music"}
var viewCollectionTypes = [viewCount]string{"movies", "tvshows", "music"}

// Fixed clock anchors so generated data does not depend on when the test runs.
var (
	genCreatedBase = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	genPlayedBase  = time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)
	genPlayedSpan  = int64(2 * 365 * 24 * 3600) // plays fall in 2022-2023
)

// kv is one provider id. Keys are spelled as the servers spell them: Imdb, Tmdb, Tvdb.
type kv struct{ key, val string }

// itemRec is a fully materialised item. Generated items are built on demand and thrown away.
type itemRec struct {
	idx       int32
	kind      kind
	name      string
	overview  string
	year      int
	premiere  time.Time // zero: none
	created   time.Time
	lastSaved time.Time
	runTicks  int64
	path      string
	providers []kv
	parent    int32 // view for movies/series, series for seasons, season for episodes, -1 for views
	view      int32
	series    int32 // -1 unless season/episode
	season    int32 // -1 unless episode
	index     int   // season number for seasons, episode number for episodes
	parentIdx int   // season number for episodes
}

// layout maps the dense index space of generated items.
type layout struct {
	movies, series, seasonsPer, episodesPer                       int
	movieStart, seriesStart, seasonStart, episodeStart, generated int32
}

func newLayout(c *Config) layout {
	l := layout{movies: c.Movies, series: c.Series, seasonsPer: c.SeasonsPerSeries, episodesPer: c.EpisodesPerSeason}
	l.movieStart = viewCount
	l.seriesStart = l.movieStart + int32(c.Movies)
	l.seasonStart = l.seriesStart + int32(c.Series)
	l.episodeStart = l.seasonStart + int32(c.Series*c.SeasonsPerSeries)
	l.generated = l.episodeStart + int32(c.Series*c.SeasonsPerSeries*c.EpisodesPerSeason)
	return l
}

// kindOf is the kind of a generated index; callers check idx < generated first.
func (l *layout) kindOf(idx int32) kind {
	switch {
	case idx < l.movieStart:
		return kindView
	case idx < l.seriesStart:
		return kindMovie
	case idx < l.seasonStart:
		return kindSeries
	case idx < l.episodeStart:
		return kindSeason
	default:
		return kindEpisode
	}
}

// splitmix64 finaliser: cheap, good avalanche, deterministic everywhere.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

const (
	saltItem   = 0x1000
	saltUser   = 0x2000
	saltToken  = 0x3000
	saltServer = 0x4000
	saltAPIKey = 0x5000
	saltData   = 0x6000
	saltSess   = 0x7000
)

func (s *Server) hash(salt uint64, n int64) uint64 {
	return mix(uint64(s.cfg.Seed)*0x9e3779b97f4a7c15 ^ mix(salt<<40^uint64(n)))
}

// hex32 renders 128 bits from two hashes as 32 lowercase hex digits (Guid "N" format).
func (s *Server) hex32(salt uint64, n int64) string {
	var b [16]byte
	a, c := s.hash(salt, n), s.hash(salt+1, n)
	for i := 0; i < 8; i++ {
		b[i] = byte(a >> (8 * i))
		b[8+i] = byte(c >> (8 * i))
	}
	return hex.EncodeToString(b[:])
}

// generate builds a generated item. idx must be < layout.generated.
func (s *Server) generate(idx int32) itemRec {
	l := &s.layout
	h := s.hash(saltItem, int64(idx))
	r := itemRec{idx: idx, kind: l.kindOf(idx), series: -1, season: -1, parent: -1}
	switch r.kind {
	case kindView:
		v := int(idx)
		r.name = viewNames[v]
		r.view = idx
		r.created = genCreatedBase
		r.lastSaved = genCreatedBase
		r.path = "/media/" + strings.ToLower(viewNames[v])
	case kindMovie:
		m := int(idx - l.movieStart)
		r.name = "Movie " + pad(m, 5)
		if m%50 == 7 {
			// Quotes in names exercise Jellyfin's Escape() quirk in webhooks.
			r.name = `The "Quoted" Movie ` + pad(m, 5)
		}
		r.overview = `A generated film, "` + r.name + `".`
		r.year = 1950 + int(h%75)
		r.premiere = time.Date(r.year, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(h>>8%365))
		r.created = genCreatedBase.Add(time.Duration(m) * 10 * time.Minute)
		r.lastSaved = r.created.Add(time.Hour)
		r.runTicks = int64(80+int(h>>16%100)) * 60 * ticksPerSecond
		folder := r.name + " (" + strconv.Itoa(r.year) + ")"
		r.path = "/media/movies/" + folder + "/" + folder + ".mkv"
		if m%101 != 100 { // about 1 % of movies are unmatched: no provider ids at all
			if m%20 != 7 {
				r.providers = append(r.providers, kv{"Imdb", "tt" + pad(1000000+m, 7)})
			}
			r.providers = append(r.providers, kv{"Tmdb", strconv.Itoa(10000 + m)})
		}
		r.parent, r.view = viewMovies, viewMovies
	case kindSeries:
		sr := int(idx - l.seriesStart)
		r.name = "Series " + pad(sr, 4)
		r.overview = "A generated show."
		r.year = 1980 + int(h%44)
		r.premiere = time.Date(r.year, 3, 1, 0, 0, 0, 0, time.UTC)
		r.created = genCreatedBase.Add(time.Duration(sr) * time.Hour)
		r.lastSaved = r.created.Add(time.Hour)
		r.runTicks = s.episodeRunTicks(sr)
		r.path = "/media/shows/" + r.name
		r.providers = []kv{{"Imdb", "tt" + pad(2000000+sr, 7)}, {"Tmdb", strconv.Itoa(20000 + sr)}, {"Tvdb", strconv.Itoa(70000 + sr)}}
		r.parent, r.view = viewShows, viewShows
	case kindSeason:
		sl := int(idx - l.seasonStart)
		sr := sl / l.seasonsPer
		num := sl%l.seasonsPer + 1
		series := s.generate(l.seriesStart + int32(sr))
		r.name = "Season " + strconv.Itoa(num)
		r.index = num
		r.year = series.year + num - 1
		r.created = series.created
		r.lastSaved = series.lastSaved
		r.path = series.path + "/Season " + pad(num, 2)
		r.parent, r.series, r.view = series.idx, series.idx, viewShows
	case kindEpisode:
		e := int(idx - l.episodeStart)
		sl := e / l.episodesPer
		sr := sl / l.seasonsPer
		seasonNum := sl%l.seasonsPer + 1
		epNum := e%l.episodesPer + 1
		seriesName := "Series " + pad(sr, 4)
		seriesYear := 1980 + int(s.hash(saltItem, int64(l.seriesStart)+int64(sr))%44)
		r.name = "Episode " + strconv.Itoa(epNum)
		if e%30 == 11 {
			r.name = `The "Quoted" Episode ` + strconv.Itoa(epNum)
		}
		r.overview = "A generated episode."
		r.index, r.parentIdx = epNum, seasonNum
		r.year = seriesYear + seasonNum - 1
		r.premiere = time.Date(r.year, 3, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, 7*(epNum-1))
		r.created = genCreatedBase.Add(time.Duration(e) * 5 * time.Minute)
		r.lastSaved = r.created.Add(time.Hour)
		r.runTicks = s.episodeRunTicks(sr)
		r.path = "/media/shows/" + seriesName + "/Season " + pad(seasonNum, 2) + "/" + seriesName + " - S" + pad(seasonNum, 2) + "E" + pad(epNum, 2) + ".mkv"
		r.providers = append(r.providers, kv{"Tvdb", strconv.Itoa(1000000 + e)})
		if e%9 != 4 {
			r.providers = append(r.providers, kv{"Tmdb", strconv.Itoa(3000000 + e)})
		}
		if e%3 == 0 {
			r.providers = append(r.providers, kv{"Imdb", "tt" + pad(5000000+e, 7)})
		}
		r.series = l.seriesStart + int32(sr)
		r.season = l.seasonStart + int32(sl)
		r.parent, r.view = r.season, viewShows
	}
	return r
}

// seriesName and seriesProviders avoid building a whole series record per episode written
// (a 1000-episode page would otherwise build 1000 series).
func (s *Server) seriesName(idx int32) string {
	if idx >= s.layout.seriesStart && idx < s.layout.seasonStart {
		return "Series " + pad(int(idx-s.layout.seriesStart), 4)
	}
	r, _ := s.item(idx)
	return r.name
}

func (s *Server) seriesTvdb(idx int32) string {
	if idx >= s.layout.seriesStart && idx < s.layout.seasonStart {
		if o, ok := s.overrides[idx]; !ok || o.providers == nil {
			return strconv.Itoa(70000 + int(idx-s.layout.seriesStart))
		}
	}
	r, _ := s.item(idx)
	return providerValue(r.providers, "Tvdb")
}

// episodeRunTicks: every episode of a show has the same length, 20-60 minutes.
func (s *Server) episodeRunTicks(seriesLocal int) int64 {
	h := s.hash(saltItem+7, int64(seriesLocal))
	return int64(20+int(h%41)) * 60 * ticksPerSecond
}

const ticksPerSecond = int64(10_000_000)

func pad(n, width int) string {
	s := strconv.Itoa(n)
	if len(s) >= width {
		return s
	}
	return strings.Repeat("0", width-len(s)) + s
}

// item returns the current state of an item (generated, overridden or added).
// The caller holds s.mu (read or write).
func (s *Server) item(idx int32) (itemRec, bool) {
	if idx < 0 {
		return itemRec{}, false
	}
	if idx < s.layout.generated {
		r := s.generate(idx)
		if o, ok := s.overrides[idx]; ok {
			if !o.lastSaved.IsZero() {
				r.lastSaved = o.lastSaved
			}
			if o.providers != nil {
				r.providers = o.providers
			}
		}
		return r, true
	}
	i := int(idx - s.layout.generated)
	if i >= len(s.added) {
		return itemRec{}, false
	}
	return s.added[i], true
}

// kindOf is cheap: no item is built for generated indexes.
func (s *Server) kindOf(idx int32) kind {
	if idx < s.layout.generated {
		return s.layout.kindOf(idx)
	}
	return s.added[idx-s.layout.generated].kind
}

func (s *Server) itemCount() int32 { return s.layout.generated + int32(len(s.added)) }

// userDataKey is the UserData.Key the servers report: series tvdb id + season/episode for
// episodes ("81797001003" [obs]), the dashed item id for movies [obs].
func (s *Server) userDataKey(r itemRec) string {
	switch r.kind {
	case kindEpisode, kindSeason:
		tvdb := s.seriesTvdb(r.series)
		if tvdb == "" {
			break
		}
		if r.kind == kindSeason {
			return tvdb + pad(r.index, 3)
		}
		return tvdb + pad(r.parentIdx, 3) + pad(r.index, 3)
	case kindSeries:
		if tvdb := providerValue(r.providers, "Tvdb"); tvdb != "" {
			return tvdb
		}
	}
	id := s.itemID(r.idx)
	if s.cfg.Flavor == Emby {
		return id
	}
	return id[0:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:32]
}

func providerValue(p []kv, key string) string {
	for _, e := range p {
		if strings.EqualFold(e.key, key) {
			return e.val
		}
	}
	return ""
}

// children lists the direct children of a folder in index order.
func (s *Server) forEachChild(parent int32, fn func(int32) bool) {
	l := &s.layout
	if parent < l.generated {
		switch l.kindOf(parent) {
		case kindView:
			switch parent {
			case viewMovies:
				for i := l.movieStart; i < l.seriesStart; i++ {
					if !fn(i) {
						return
					}
				}
			case viewShows:
				for i := l.seriesStart; i < l.seasonStart; i++ {
					if !fn(i) {
						return
					}
				}
			}
		case kindSeries:
			sr := parent - l.seriesStart
			first := l.seasonStart + sr*int32(l.seasonsPer)
			for i := first; i < first+int32(l.seasonsPer); i++ {
				if !fn(i) {
					return
				}
			}
		case kindSeason:
			sl := parent - l.seasonStart
			first := l.episodeStart + sl*int32(l.episodesPer)
			for i := first; i < first+int32(l.episodesPer); i++ {
				if !fn(i) {
					return
				}
			}
		}
	}
	for _, c := range s.addedChildren[parent] {
		if !fn(c) {
			return
		}
	}
}

// forEachDescendant walks a folder's subtree in index order of each level, depth first.
func (s *Server) forEachDescendant(parent int32, fn func(int32) bool) bool {
	cont := true
	s.forEachChild(parent, func(c int32) bool {
		if !fn(c) {
			cont = false
			return false
		}
		if s.kindOf(c).isFolder() {
			if !s.forEachDescendant(c, fn) {
				cont = false
				return false
			}
		}
		return true
	})
	return cont
}

// forEachLibraryItem walks every item below the views in plain index order, which is what
// a recursive query without ParentId returns before sorting.
func (s *Server) forEachLibraryItem(fn func(int32) bool) {
	n := s.itemCount()
	for i := int32(viewCount); i < n; i++ {
		if !fn(i) {
			return
		}
	}
}

// isDescendant reports whether idx is below folder.
func (s *Server) isDescendant(idx, folder int32) bool {
	for depth := 0; depth < 4; depth++ {
		r, ok := s.item(idx)
		if !ok || r.parent < 0 {
			return false
		}
		if r.parent == folder {
			return true
		}
		idx = r.parent
	}
	return false
}
