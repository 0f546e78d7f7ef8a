package fake

import (
	"fmt"
	"strconv"
	"strings"
)

// kind is a metadata item's type, numbered as PMS numbers them (the type= query).
type kind uint8

const (
	kindMovie   kind = 1
	kindShow    kind = 2
	kindSeason  kind = 3
	kindEpisode kind = 4
)

func (k kind) String() string {
	switch k {
	case kindMovie:
		return "movie"
	case kindShow:
		return "show"
	case kindSeason:
		return "season"
	case kindEpisode:
		return "episode"
	}
	return "unknown"
}

// item is one metadata item, kept compact (≈64 bytes) so a 100k-item library costs a
// few MB. Everything descriptive (titles, GUIDs, file paths) is derived on output from
// the catalog ordinal, so nothing per item is stored as a string unless a test set it.
type item struct {
	kind    kind
	legacy  bool  // legacy agent GUIDs, no Guid[]
	section int16 // index into Server.sections
	index   int16 // episode number, season number; 1 for movies and shows
	year    int16
	// parent is the season of an episode or the show of a season; grand is the show
	// of an episode. Indexes into Server.items, -1 when none.
	parent int32
	grand  int32
	// ord is the catalog ordinal: movie number, or show number for shows, seasons and
	// episodes. Together with index/parentIndex it names the same "real" title in
	// every fake, so two fakes of the same sizes share GUIDs like two servers holding
	// the same media.
	ord       int32
	duration  int32 // ms
	addedAt   int64 // epoch s
	updatedAt int64 // epoch s
	ext       *itemExt
}

// itemExt holds what only some items have: children of shows and seasons, and
// values a test set through AddItem.
type itemExt struct {
	children []int32 // seasons of a show, episodes of a season, in index order
	title    string
	guid     string
	guids    []string // external ids for Guid[] ("imdb://tt…"); nil = derived
	noGUIDs  bool     // AddItem with an explicit empty GUIDs list
}

// section is a library section and the items it lists per type.
type section struct {
	spec     SectionSpec
	uuid     string
	created  int64
	byType   map[kind][]int32 // item indexes in ratingKey order
	location string
}

// h64 is a stable hash (FNV-1a then a splitmix64 finish) for derived values: the
// same inputs give the same value in every run and on every machine.
func h64(parts ...uint64) uint64 {
	h := uint64(14695981039346656037)
	for _, p := range parts {
		for i := 0; i < 8; i++ {
			h ^= p & 0xff
			h *= 1099511628211
			p >>= 8
		}
	}
	// final avalanche (splitmix64)
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

// Catalog-id namespaces: ranges are disjoint so an imdb/tmdb/tvdb id names one item.
const (
	imdbMovieBase   = 1_000_000
	imdbShowBase    = 9_000_000
	imdbEpisodeBase = 20_000_000
	tmdbMovieBase   = 100_000
	tmdbShowBase    = 5_000_000
	tmdbEpisodeBase = 40_000_000
	tvdbShowBase    = 300_000
	tvdbEpisodeBase = 10_000_000
	// Episode ids pack show ordinal, season and episode: seasons < 20, episodes < 100.
	maxSeasons  = 19
	maxEpisodes = 99
)

func episodeCatalogID(showOrd int32, season, episode int16) int64 {
	return int64(showOrd)*2000 + int64(season)*100 + int64(episode)
}

var adjectives = [...]string{
	"Silent", "Crimson", "Hidden", "Broken", "Golden", "Frozen", "Distant", "Electric",
	"Hollow", "Wild", "Lonely", "Burning", "Secret", "Endless", "Velvet", "Iron",
	"Paper", "Scarlet", "Midnight", "Quiet", "Savage", "Bright", "Fading", "Lucky",
	"Northern", "Restless", "Shattered", "Twisted", "Violet", "Wandering", "Ancient", "Brave",
	"Cold", "Dark", "Early", "Fallen", "Gentle", "Hungry", "Invisible", "Jagged",
	"Kind", "Last", "Mighty", "Narrow", "Open", "Proud", "Rapid", "Sacred",
	"Tender", "Upper", "Vast", "Wicked", "Young", "Zealous", "Amber", "Blue",
	"Copper", "Dusty", "Emerald", "Foggy", "Grey", "Hazy", "Ivory", "Jade",
}

var nouns = [...]string{
	"Harbor", "Mountain", "River", "Garden", "Kingdom", "Signal", "Mirror", "Forest",
	"Station", "Empire", "Voyage", "Horizon", "Shadow", "Letter", "Island", "Machine",
	"Country", "Frontier", "Orchard", "Tower", "Winter", "Summer", "Highway", "Bridge",
	"Lantern", "Circus", "Desert", "Planet", "Canyon", "Harvest", "Engine", "Castle",
	"Valley", "Ocean", "Meadow", "Citadel", "Archive", "Compass", "Comet", "Dynasty",
	"Echo", "Fortress", "Galaxy", "Hotel", "Journey", "Labyrinth", "Legacy", "Monsoon",
	"Nomad", "Oracle", "Paradox", "Quarry", "Refuge", "Saga", "Temple", "Union",
	"Vanguard", "Whisper", "Cipher", "Beacon", "Atlas", "Ember", "Glacier", "Prairie",
}

// catalogTitle names catalog entry ord of kind k: an adjective-noun pair, unique for
// the first 4096 entries (the multiplier is odd, so it permutes 0..4095), then
// suffixed.
func catalogTitle(k kind, ord int32) string {
	n := len(adjectives) * len(nouns)
	mult := uint64(2654435761)
	slot := (uint64(ord)*mult + uint64(k)*977) % uint64(n)
	t := adjectives[slot/uint64(len(nouns))] + " " + nouns[slot%uint64(len(nouns))]
	if int(ord) >= n {
		t += " " + strconv.Itoa(int(ord)/n+1)
	}
	if h64(uint64(k), uint64(ord), 7)%5 == 0 {
		t = "The " + t
	}
	return t
}

// titleSort drops a leading article, as PMS does.
func titleSort(t string) string {
	for _, a := range []string{"The ", "A ", "An "} {
		if strings.HasPrefix(t, a) {
			return t[len(a):]
		}
	}
	return t
}

func plexHex(parts ...uint64) string {
	const n = 24
	var b [n]byte
	h := h64(parts...)
	h2 := h64(h, 1)
	for i := 0; i < n; i++ {
		var nib uint64
		if i < 16 {
			nib = (h >> (4 * i)) & 0xf
		} else {
			nib = (h2 >> (4 * (i - 16))) & 0xf
		}
		b[i] = hexDigits[nib]
	}
	return string(b[:])
}

// generate builds the library from the options.
func (s *Server) generate() {
	seed := uint64(s.opts.Seed)
	base := int64(1_500_000_000) + int64(h64(seed, 1)%50_000_000)
	var movieOrd, showOrd int32
	for si, spec := range s.opts.Sections {
		sec := &section{
			spec:    spec,
			uuid:    uuidFrom(h64(seed, 2, uint64(si))),
			created: base - 86400*30 + int64(si)*3600,
			byType:  map[kind][]int32{},
		}
		s.sections = append(s.sections, sec)
		switch spec.Type {
		case "movie":
			sec.location = "/data/media/movies"
			for i := 0; i < spec.Movies; i++ {
				s.appendGenerated(int16(si), kindMovie, movieOrd, 1, -1, -1, base, seed)
				movieOrd++
			}
		case "show":
			sec.location = "/data/media/tv"
			for i := 0; i < spec.Shows; i++ {
				show := s.appendGenerated(int16(si), kindShow, showOrd, 1, -1, -1, base, seed)
				for se := 1; se <= spec.SeasonsPerShow; se++ {
					season := s.appendGenerated(int16(si), kindSeason, showOrd, int16(se), show, -1, base, seed)
					for ep := 1; ep <= spec.EpisodesPerSeason; ep++ {
						s.appendGenerated(int16(si), kindEpisode, showOrd, int16(ep), season, show, base, seed)
					}
				}
				showOrd++
			}
		case "artist":
			sec.location = "/data/media/music"
		}
	}
	s.nextMovieOrd, s.nextShowOrd = movieOrd, showOrd
}

// appendGenerated adds one generated item and links it to its parent.
func (s *Server) appendGenerated(sec int16, k kind, ord int32, index int16, parent, grand int32, base int64, seed uint64) int32 {
	idx := int32(len(s.items))
	it := item{kind: k, section: sec, index: index, parent: parent, grand: grand, ord: ord}
	// legacy is chosen per movie and per show (its seasons and episodes follow it),
	// and depends on the seed: the same title can be matched by different agents on
	// different servers.
	switch k {
	case kindMovie, kindShow:
		it.legacy = float64(h64(seed, uint64(k), uint64(ord), 3)%1_000_000)/1_000_000 < s.opts.LegacyFraction
	default:
		it.legacy = s.items[parent].legacy
	}
	ch := h64(uint64(k), uint64(ord), uint64(index))
	switch k {
	case kindMovie:
		it.year = int16(1950 + ch%75)
		it.duration = int32(80*60_000 + (ch>>8)%(70*60_000))
	case kindShow:
		it.year = int16(1960 + ch%65)
	case kindSeason:
		it.year = s.items[parent].year + index - 1
	case kindEpisode:
		it.year = s.items[parent].year
		it.duration = int32(20*60_000 + (ch>>8)%(40*60_000))
	}
	// Added dates rise with the ratingKey, ten minutes apart with jitter, as a library
	// filled over the years would.
	it.addedAt = base + int64(idx)*600 + int64(h64(seed, uint64(idx), 4)%600)
	it.updatedAt = it.addedAt + int64(h64(seed, uint64(idx), 5)%(30*86400))
	if k == kindShow || k == kindSeason {
		it.ext = &itemExt{}
	}
	s.items = append(s.items, it)
	if parent >= 0 {
		p := &s.items[parent]
		p.ext.children = append(p.ext.children, idx)
	}
	secp := s.sections[sec]
	secp.byType[k] = append(secp.byType[k], idx)
	return idx
}

func uuidFrom(h uint64) string {
	h2 := h64(h, 9)
	x := fmt.Sprintf("%016x%016x", h, h2)
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// ratingKey of item idx.
func (s *Server) rk(idx int32) int64 { return int64(s.opts.RatingKeyBase) + int64(idx) }

// lookup resolves a ratingKey string to an item index.
func (s *Server) lookup(ratingKey string) (int32, bool) {
	n, err := strconv.ParseInt(ratingKey, 10, 64)
	if err != nil {
		return 0, false
	}
	idx := n - int64(s.opts.RatingKeyBase)
	if idx < 0 || idx >= int64(len(s.items)) {
		return 0, false
	}
	return int32(idx), true
}

// title of item idx.
func (s *Server) title(idx int32) string {
	it := &s.items[idx]
	if it.ext != nil && it.ext.title != "" {
		return it.ext.title
	}
	switch it.kind {
	case kindSeason:
		return "Season " + strconv.Itoa(int(it.index))
	case kindEpisode:
		return catalogTitle(kindEpisode, int32(episodeCatalogID(it.ord, s.items[it.parent].index, it.index)))
	}
	return catalogTitle(it.kind, it.ord)
}

// guid is the item's own guid attribute: plex://… for the new agents, the legacy
// agent string otherwise.
func (s *Server) guid(idx int32) string {
	it := &s.items[idx]
	if it.ext != nil && it.ext.guid != "" {
		return it.ext.guid
	}
	if it.legacy {
		switch it.kind {
		case kindMovie:
			if it.ord%2 == 0 {
				return fmt.Sprintf("com.plexapp.agents.imdb://tt%07d?lang=en", imdbMovieBase+int64(it.ord))
			}
			return fmt.Sprintf("com.plexapp.agents.themoviedb://%d?lang=en", tmdbMovieBase+int64(it.ord))
		case kindShow:
			return fmt.Sprintf("com.plexapp.agents.thetvdb://%d?lang=en", tvdbShowBase+int64(it.ord))
		case kindSeason:
			return fmt.Sprintf("com.plexapp.agents.thetvdb://%d/%d?lang=en", tvdbShowBase+int64(it.ord), it.index)
		case kindEpisode:
			return fmt.Sprintf("com.plexapp.agents.thetvdb://%d/%d/%d?lang=en", tvdbShowBase+int64(it.ord), s.items[it.parent].index, it.index)
		}
	}
	switch it.kind {
	case kindMovie:
		return "plex://movie/" + plexHex(uint64(kindMovie), uint64(it.ord))
	case kindShow:
		return "plex://show/" + plexHex(uint64(kindShow), uint64(it.ord))
	case kindSeason:
		return "plex://season/" + plexHex(uint64(kindSeason), uint64(it.ord), uint64(it.index))
	default:
		return "plex://episode/" + plexHex(uint64(kindEpisode), uint64(it.ord), uint64(s.items[it.parent].index), uint64(it.index))
	}
}

// externalGUIDs is the item's Guid[] (empty for legacy items and seasons). For an
// episode these are the episode's own ids; the show's ids are only on the show.
func (s *Server) externalGUIDs(idx int32) []string {
	it := &s.items[idx]
	if it.ext != nil && (it.ext.guids != nil || it.ext.noGUIDs) {
		return it.ext.guids
	}
	if it.legacy {
		return nil
	}
	switch it.kind {
	case kindMovie:
		o := int64(it.ord)
		return []string{
			fmt.Sprintf("imdb://tt%07d", imdbMovieBase+o),
			"tmdb://" + strconv.FormatInt(tmdbMovieBase+o, 10),
		}
	case kindShow:
		o := int64(it.ord)
		return []string{
			fmt.Sprintf("imdb://tt%07d", imdbShowBase+o),
			"tmdb://" + strconv.FormatInt(tmdbShowBase+o, 10),
			"tvdb://" + strconv.FormatInt(tvdbShowBase+o, 10),
		}
	case kindEpisode:
		e := episodeCatalogID(it.ord, s.items[it.parent].index, it.index)
		return []string{
			fmt.Sprintf("imdb://tt%08d", imdbEpisodeBase+e),
			"tmdb://" + strconv.FormatInt(tmdbEpisodeBase+e, 10),
			"tvdb://" + strconv.FormatInt(tvdbEpisodeBase+e, 10),
		}
	}
	return nil
}
