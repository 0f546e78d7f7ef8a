package model

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// GUID is an external identifier of an item in the normalised form
// "source:id": a lower-case source name, a colon, and the id as the source
// spells it (imdb:tt0944947, tmdb:63056, plex:movie/5d776b85594b2b001e6dc641).
// Servers' spellings are turned into this form by plugins/guids.
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

// ErrInvalidGUID marks a value that is not in keepwatch's normalised form.
var ErrInvalidGUID = errors.New("invalid guid")

// CheckGUID reports whether s has the normalised source:id form: a non-empty
// lower-case source of letters, digits, '_' or '-', a colon, a non-empty id.
// The per-source shapes and the servers' spellings are plugins/guids' job;
// the model only guards its own invariant.
func CheckGUID(s string) (GUID, error) {
	src, id, ok := strings.Cut(s, ":")
	if !ok || src == "" || id == "" || strings.TrimSpace(id) != id {
		return "", fmt.Errorf("%w: %q is not source:id", ErrInvalidGUID, s)
	}
	for _, r := range src {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return "", fmt.Errorf("%w: %q: source must be lower-case letters, digits, '_' or '-'", ErrInvalidGUID, s)
		}
	}
	return GUID(s), nil
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
	if show, err = CheckGUID(head); err != nil {
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
