package model

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// GUID is an external identifier of an item in the normalised form
// "source:id": a lower-case source name, a colon, and the id as the source
// spells it (imdb:tt0944947, tmdb:63056, plex:movie/5d776b85594b2b001e6dc641).
// Only values made by NewGUID or ParseGUID are valid.
type GUID string

// Source returns the part before the colon.
func (g GUID) Source() string {
	s, _, _ := strings.Cut(string(g), ":")
	return s
}

// ID returns the part after the colon.
func (g GUID) ID() string {
	_, id, _ := strings.Cut(string(g), ":")
	return id
}

// ErrUnknownSource marks an identifier whose source keepwatch does not match
// on (a collection id, a website, an unmatched-agent placeholder). Callers skip
// such ids; they are not malformed input.
var ErrUnknownSource = errors.New("unknown guid source")

// ErrInvalidGUID marks an identifier of a known source whose id has the wrong
// shape (imdb:12345, tmdb:abc).
var ErrInvalidGUID = errors.New("invalid guid")

var (
	reIMDb    = regexp.MustCompile(`^tt\d{5,10}$`)
	reNumeric = regexp.MustCompile(`^[1-9]\d{0,11}$`)
	rePlex    = regexp.MustCompile(`^(movie|show|season|episode)/[0-9a-f]{24}$`)
)

// sources lists the GUID sources keepwatch matches on with the shape of a valid
// id. Every source here can identify a movie, a show or an episode on at least
// one server.
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

// NewGUID validates and normalises one identifier given as source and id. The
// source may be any known alias in any case ("Tmdb", "themoviedb"); an imdb id
// is lower-cased; surrounding space is trimmed.
func NewGUID(source, id string) (GUID, error) {
	src, ok := sourceAliases[strings.ToLower(strings.TrimSpace(source))]
	if !ok {
		return "", fmt.Errorf("%w %q (known: imdb, tmdb, tvdb, tvmaze, tvrage, anidb, anilist, mal, kitsu, plex)", ErrUnknownSource, source)
	}
	id = strings.TrimSpace(id)
	if src == "imdb" || src == "plex" {
		id = strings.ToLower(id)
	}
	if !sources[src].MatchString(id) {
		return "", fmt.Errorf("%w: %s id %q does not look like a %s id", ErrInvalidGUID, src, id, src)
	}
	return GUID(src + ":" + id), nil
}

// ParseGUID parses one identifier in any single-item spelling servers use:
// "imdb:tt0137523" (keepwatch's own), "imdb://tt0137523" (Plex Guid[] entries),
// "plex://movie/5d77…" (Plex new agents) and "Tmdb:603" (a ProviderIds pair).
// Legacy Plex agent strings may name an episode by show and number; parse them
// with ParsePlexAgentGUID.
func ParseGUID(s string) (GUID, error) {
	s = strings.TrimSpace(s)
	src, id, ok := strings.Cut(s, ":")
	if !ok {
		return "", fmt.Errorf("%w: %q has no source prefix (want source:id)", ErrInvalidGUID, s)
	}
	id = strings.TrimPrefix(id, "//")
	return NewGUID(src, id)
}

// RelativeGUID names an episode by one of its show's GUIDs plus season and
// episode number: "tvdb:121361/1/1". It matches an episode across servers whose
// own episode ids differ or are missing.
type RelativeGUID string

// NewRelativeGUID builds the relative GUID of episode e of season s of show.
func NewRelativeGUID(show GUID, season, episode int) RelativeGUID {
	return RelativeGUID(string(show) + "/" + strconv.Itoa(season) + "/" + strconv.Itoa(episode))
}

// ParseRelativeGUID parses "source:showid/season/episode".
func ParseRelativeGUID(s string) (show GUID, season, episode int, err error) {
	head, ep, ok1 := cutLast(s, "/")
	head, se, ok2 := cutLast(head, "/")
	if !ok1 || !ok2 {
		return "", 0, 0, fmt.Errorf("%w: relative guid %q is not source:show/season/episode", ErrInvalidGUID, s)
	}
	if show, err = ParseGUID(head); err != nil {
		return "", 0, 0, err
	}
	if season, err = strconv.Atoi(se); err != nil || season < 0 {
		return "", 0, 0, fmt.Errorf("%w: relative guid %q: season %q is not a number", ErrInvalidGUID, s, se)
	}
	if episode, err = strconv.Atoi(ep); err != nil || episode < 0 {
		return "", 0, 0, fmt.Errorf("%w: relative guid %q: episode %q is not a number", ErrInvalidGUID, s, ep)
	}
	return show, season, episode, nil
}

func cutLast(s, sep string) (before, after string, ok bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// AgentGUID is what one Plex agent string says about an item: its own GUIDs,
// or, for the legacy TV agents, the show's GUID plus season and episode.
type AgentGUID struct {
	GUIDs   []GUID
	Show    GUID // set when the string names an episode by show id and number
	Season  int
	Episode int
}

// plexLegacyAgents maps a legacy agent name (after "com.plexapp.agents.") to
// the GUID source its id belongs to. Agents that carry no external id (none,
// local, plexmusic, lastfm, youtube…) are absent: their strings yield nothing.
var plexLegacyAgents = map[string]string{
	"imdb":            "imdb",
	"themoviedb":      "tmdb",
	"thetvdb":         "tvdb",
	"thetvdbdvdorder": "tvdb", // same series id; season/episode are DVD order and may not match aired order
	"tvmaze":          "tvmaze",
	"xbmcnfotv":       "tvdb",
	// xbmcnfo and hama carry the source inside the id; handled below.
}

// ParsePlexAgentGUID parses a Plex metadata agent string:
//
//	plex://movie/5d776b85594b2b001e6dc641            → plex:movie/5d77…
//	imdb://tt8910944                                  → imdb:tt8910944 (Guid[] entry)
//	com.plexapp.agents.imdb://tt0137523?lang=en       → imdb:tt0137523
//	com.plexapp.agents.themoviedb://603?lang=en       → tmdb:603
//	com.plexapp.agents.thetvdb://81189/1/1?lang=en    → show tvdb:81189, S1E1
//	com.plexapp.agents.hama://anidb-23/1/5?lang=en    → show anidb:23, S1E5
//	com.plexapp.agents.xbmcnfo://tt0137523?lang=xx    → imdb:tt0137523
//
// Agents without an external id (none://, local://, plexmusic://, lastfm://)
// return an empty AgentGUID and no error. A known agent with a malformed id
// returns an error wrapping ErrInvalidGUID.
func ParsePlexAgentGUID(s string) (AgentGUID, error) {
	s = strings.TrimSpace(s)
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return AgentGUID{}, fmt.Errorf("%w: plex guid %q has no scheme://", ErrInvalidGUID, s)
	}
	rest, _, _ = strings.Cut(rest, "?") // ?lang=en and similar are not part of the id
	scheme = strings.ToLower(scheme)
	agent, legacy := strings.CutPrefix(scheme, "com.plexapp.agents.")
	if !legacy {
		// New agents (plex://) and Guid[] entries (imdb://, tmdb://, tvdb://).
		if scheme == "local" || scheme == "none" {
			return AgentGUID{}, nil
		}
		g, err := NewGUID(scheme, rest)
		if errors.Is(err, ErrUnknownSource) {
			return AgentGUID{}, nil
		}
		if err != nil {
			return AgentGUID{}, fmt.Errorf("plex guid %q: %w", s, err)
		}
		return AgentGUID{GUIDs: []GUID{g}}, nil
	}

	parts := strings.Split(rest, "/")
	id := parts[0]
	var src string
	switch agent {
	case "hama":
		// HAMA ids look like anidb-23, tvdb-81189, tvdb2-81189 (absolute order),
		// tmdb-603, imdb-tt0137523.
		prefix, hid, ok := strings.Cut(id, "-")
		if !ok {
			return AgentGUID{}, fmt.Errorf("%w: plex guid %q: hama id %q has no source- prefix", ErrInvalidGUID, s, id)
		}
		switch prefix {
		case "anidb", "tvdb", "tmdb", "imdb":
			src, id = prefix, hid
		default:
			return AgentGUID{}, nil // tvdb2..tvdb4 and tsdb renumber episodes: no stable match
		}
	case "xbmcnfo":
		if reIMDb.MatchString(strings.ToLower(id)) {
			src = "imdb"
		} else {
			src = "tmdb"
		}
	default:
		src, ok = plexLegacyAgents[agent]
		if !ok {
			return AgentGUID{}, nil
		}
	}
	g, err := NewGUID(src, id)
	if err != nil {
		return AgentGUID{}, fmt.Errorf("plex guid %q: %w", s, err)
	}
	switch len(parts) {
	case 1:
		return AgentGUID{GUIDs: []GUID{g}}, nil
	case 3:
		season, err1 := strconv.Atoi(parts[1])
		episode, err2 := strconv.Atoi(parts[2])
		if err1 != nil || err2 != nil || season < 0 || episode < 0 {
			return AgentGUID{}, fmt.Errorf("%w: plex guid %q: season/episode %q/%q are not numbers", ErrInvalidGUID, s, parts[1], parts[2])
		}
		return AgentGUID{Show: g, Season: season, Episode: episode}, nil
	default:
		return AgentGUID{}, fmt.Errorf("%w: plex guid %q: want id or id/season/episode", ErrInvalidGUID, s)
	}
}

// GUIDsFromProviderIDs converts a Jellyfin/Emby ProviderIds object, or the
// Provider_* keys of a Jellyfin webhook, to GUIDs. Keys match case-insensitively
// with an optional "provider_" prefix. Keys that are not item ids
// (TmdbCollection, Official Website, Wikidata, MusicBrainz…) and empty or
// malformed values are skipped: one bad id must not hide the good ones.
func GUIDsFromProviderIDs(ids map[string]string) []GUID {
	var out []GUID
	for k, v := range ids {
		k = strings.TrimPrefix(strings.ToLower(k), "provider_")
		if g, err := NewGUID(k, v); err == nil {
			out = append(out, g)
		}
	}
	return SortGUIDs(out)
}

// SortGUIDs sorts in place and removes duplicates order-independently, so two
// observations of one item compare equal whatever map order produced them.
func SortGUIDs(gs []GUID) []GUID {
	if len(gs) < 2 {
		return gs
	}
	// Insertion sort: GUID lists are a handful long.
	for i := 1; i < len(gs); i++ {
		for j := i; j > 0 && gs[j] < gs[j-1]; j-- {
			gs[j], gs[j-1] = gs[j-1], gs[j]
		}
	}
	out := gs[:1]
	for _, g := range gs[1:] {
		if g != out[len(out)-1] {
			out = append(out, g)
		}
	}
	return out
}

// IsAbsent reports whether a value from a loosely typed source (Tautulli's
// string templates, form-encoded webhooks) means "no value": empty, "None",
// "null", "0", or an unsubstituted "{placeholder}".
func IsAbsent(v string) bool {
	v = strings.TrimSpace(v)
	switch strings.ToLower(v) {
	case "", "none", "null", "0", "nan":
		return true
	}
	return strings.HasPrefix(v, "{") && strings.HasSuffix(v, "}")
}
