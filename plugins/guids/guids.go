package guids

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// ErrUnknownSource marks an identifier whose source keepwatch does not match
// on (a collection id, a website, an unmatched-agent placeholder). Callers
// skip such ids; they are not malformed input.
var ErrUnknownSource = errors.New("unknown guid source")

// ErrInvalid marks an identifier of a known source whose id has the wrong
// shape (imdb:12345, tmdb:abc).
var ErrInvalid = errors.New("invalid guid")

var (
	reIMDb    = regexp.MustCompile(`^tt\d{5,10}$`)
	reNumeric = regexp.MustCompile(`^[1-9]\d{0,11}$`)
	rePlex    = regexp.MustCompile(`^(movie|show|season|episode)/[0-9a-f]{24}$`)
)

// sources lists the GUID sources keepwatch matches on with the shape of a
// valid id. Every source here identifies a movie, a show or an episode on at
// least one server.
var sources = map[string]*regexp.Regexp{
	"imdb":    reIMDb,
	"tmdb":    reNumeric,
	"tvdb":    reNumeric,
	"tvmaze":  reNumeric,
	"tvrage":  reNumeric,
	"anidb":   reNumeric,
	"anilist": reNumeric,
	"mal":     reNumeric,
	"kitsu":   reNumeric,
	"plex":    rePlex,
}

// sourceAliases maps the spellings servers use for a source to keepwatch's
// name: Plex legacy agents (themoviedb, thetvdb), Jellyfin/Emby ProviderIds
// keys (Imdb, Tmdb, Tvdb, TvRage, Tvmaze, AniDB, AniList, MyAnimeList) and
// Tautulli's template parameters (themoviedb_id, thetvdb_id, ...). Keys are
// lower case.
var sourceAliases = map[string]string{
	"imdb": "imdb", "imdb_id": "imdb",
	"tmdb": "tmdb", "themoviedb": "tmdb", "themoviedb_id": "tmdb", "tmdb_id": "tmdb",
	"tvdb": "tvdb", "thetvdb": "tvdb", "thetvdb_id": "tvdb", "tvdb_id": "tvdb",
	"tvmaze": "tvmaze", "tvmaze_id": "tvmaze",
	"tvrage": "tvrage",
	"anidb":  "anidb", "anilist": "anilist",
	"mal": "mal", "myanimelist": "mal",
	"kitsu": "kitsu",
	"plex":  "plex",
}

// Normalize validates and normalises one identifier given as source and id.
// The source may be any known alias in any case ("Tmdb", "themoviedb"); an
// imdb or plex id is lower-cased; surrounding space is trimmed.
func Normalize(source, id string) (string, error) {
	src, ok := sourceAliases[strings.ToLower(strings.TrimSpace(source))]
	if !ok {
		return "", fmt.Errorf("%w %q (known: imdb, tmdb, tvdb, tvmaze, tvrage, anidb, anilist, mal, kitsu, plex)", ErrUnknownSource, source)
	}
	id = strings.TrimSpace(id)
	if src == "imdb" || src == "plex" {
		id = strings.ToLower(id)
	}
	if !sources[src].MatchString(id) {
		return "", fmt.Errorf("%w: %s id %q does not look like a %s id", ErrInvalid, src, id, src)
	}
	return src + ":" + id, nil
}

// Parse parses one identifier in any single-item spelling servers use:
// "imdb:tt0137523" (keepwatch's own), "imdb://tt0137523" (Plex Guid[]
// entries), "plex://movie/5d77…" (Plex new agents) and "Tmdb:603" (a
// ProviderIds pair). Legacy Plex agent strings may name an episode by show
// and number; parse them with PlexAgent.
func Parse(s string) (string, error) {
	s = strings.TrimSpace(s)
	src, id, ok := strings.Cut(s, ":")
	if !ok {
		return "", fmt.Errorf("%w: %q has no source prefix (want source:id)", ErrInvalid, s)
	}
	return Normalize(src, strings.TrimPrefix(id, "//"))
}

// Relative names an episode by one of its show's GUIDs plus season and
// episode number: "tvdb:121361/1/1". It matches an episode across servers
// whose own episode ids differ or are missing.
func Relative(show string, season, episode int) string {
	return show + "/" + strconv.Itoa(season) + "/" + strconv.Itoa(episode)
}

// FromProviderIDs converts a Jellyfin/Emby ProviderIds object, or the
// Provider_* keys of a Jellyfin webhook, to sorted GUIDs. Keys match
// case-insensitively with an optional "provider_" prefix. Keys that are not
// item ids (TmdbCollection, Official Website, Wikidata, MusicBrainz…) and
// empty or malformed values are skipped: one bad id must not hide the good
// ones.
func FromProviderIDs(ids map[string]string) []string {
	var out []string
	for k, v := range ids {
		k = strings.TrimPrefix(strings.ToLower(k), "provider_")
		if g, err := Normalize(k, v); err == nil {
			out = append(out, g)
		}
	}
	return Sort(out)
}

// Sort sorts in place and removes duplicates, so two observations of one item
// compare equal whatever map order produced them.
func Sort(gs []string) []string {
	slices.Sort(gs)
	return slices.Compact(gs)
}

// IsAbsent reports whether a value from a loosely typed source (Tautulli's
// string templates, form-encoded webhooks) means "no value": empty, "None",
// "null", "0", "nan", or an unsubstituted "{placeholder}".
func IsAbsent(v string) bool {
	v = strings.TrimSpace(v)
	switch strings.ToLower(v) {
	case "", "none", "null", "0", "nan":
		return true
	}
	return strings.HasPrefix(v, "{") && strings.HasSuffix(v, "}")
}
