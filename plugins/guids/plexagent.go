package guids

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Agent is what one Plex agent string says about an item: its own GUIDs, or,
// for the legacy TV agents, the show's GUID plus season and episode.
type Agent struct {
	GUIDs   []string
	Show    string // set when the string names an episode by show id and number
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

// PlexAgent parses a Plex metadata agent string:
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
// return an empty Agent and no error. A known agent with a malformed id
// returns an error wrapping ErrInvalid.
func PlexAgent(s string) (Agent, error) {
	s = strings.TrimSpace(s)
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return Agent{}, fmt.Errorf("%w: plex guid %q has no scheme://", ErrInvalid, s)
	}
	rest, _, _ = strings.Cut(rest, "?") // ?lang=en and similar are not part of the id
	scheme = strings.ToLower(scheme)
	agent, legacy := strings.CutPrefix(scheme, "com.plexapp.agents.")
	if !legacy {
		// New agents (plex://) and Guid[] entries (imdb://, tmdb://, tvdb://).
		if scheme == "local" || scheme == "none" {
			return Agent{}, nil
		}
		g, err := Normalize(scheme, rest)
		if errors.Is(err, ErrUnknownSource) {
			return Agent{}, nil
		}
		if err != nil {
			return Agent{}, fmt.Errorf("plex guid %q: %w", s, err)
		}
		return Agent{GUIDs: []string{g}}, nil
	}

	parts := strings.Split(rest, "/")
	id := parts[0]
	var src string
	switch agent {
	case "hama":
		// HAMA ids look like anidb-23, tvdb-81189, tvdb2-81189 (absolute
		// order), tmdb-603, imdb-tt0137523.
		prefix, hid, ok := strings.Cut(id, "-")
		if !ok {
			return Agent{}, fmt.Errorf("%w: plex guid %q: hama id %q has no source- prefix", ErrInvalid, s, id)
		}
		switch prefix {
		case "anidb", "tvdb", "tmdb", "imdb":
			src, id = prefix, hid
		default:
			return Agent{}, nil // tvdb2..tvdb4 and tsdb renumber episodes: no stable match
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
			return Agent{}, nil
		}
	}
	g, err := Normalize(src, id)
	if err != nil {
		return Agent{}, fmt.Errorf("plex guid %q: %w", s, err)
	}
	switch len(parts) {
	case 1:
		return Agent{GUIDs: []string{g}}, nil
	case 3:
		season, err1 := strconv.Atoi(parts[1])
		episode, err2 := strconv.Atoi(parts[2])
		if err1 != nil || err2 != nil || season < 0 || episode < 0 {
			return Agent{}, fmt.Errorf("%w: plex guid %q: season/episode %q/%q are not numbers", ErrInvalid, s, parts[1], parts[2])
		}
		return Agent{Show: g, Season: season, Episode: episode}, nil
	default:
		return Agent{}, fmt.Errorf("%w: plex guid %q: want id or id/season/episode", ErrInvalid, s)
	}
}
