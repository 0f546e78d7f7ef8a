package plex

import (
	"slices"
	"time"

	"github.com/keepwatch/keepwatch/plugins"
	"github.com/keepwatch/keepwatch/plugins/guids"
)

// itemIDs is what an item's guid attribute and Guid[] say about it.
type itemIDs struct {
	own []string // the item's own GUIDs, sorted
	// For legacy TV agents, the guid names the episode by its show's id and
	// numbers (com.plexapp.agents.thetvdb://81189/1/1).
	show            string
	season, episode int
}

// parseIDs reads guid (plex://…, or a legacy agent string) and the Guid[]
// entries (imdb://…, tmdb://…, tvdb://…). Ids keepwatch does not match on
// (local://, none://, music agents) and malformed ones are skipped: one bad id
// must not hide the good ones.
func parseIDs(guid string, entries []guidEntry) itemIDs {
	var out itemIDs
	if guid != "" {
		if a, err := guids.PlexAgent(guid); err == nil {
			out.own = append(out.own, a.GUIDs...)
			out.show, out.season, out.episode = a.Show, a.Season, a.Episode
		}
	}
	for _, e := range entries {
		if a, err := guids.PlexAgent(e.ID); err == nil {
			out.own = append(out.own, a.GUIDs...)
		}
	}
	if len(out.own) > 1 {
		out.own = guids.Sort(out.own)
	}
	return out
}

// showInfo is what an episode needs of its show.
type showInfo struct {
	title string
	guids []string // sorted; shared by every episode of the show, never modified
}

// showOf builds a show's info from its own metadata (a type=2 row or
// /library/metadata/{grandparentRatingKey}).
func showOf(m *metadata) showInfo {
	return showInfo{title: m.Title, guids: parseIDs(m.GUID, m.GUIDs).own}
}

// showGUIDs merges what is known of an episode's show: the looked-up show (may
// be nil), the show id of a legacy agent string and the episode's
// grandparentGuid. The common case (the looked-up show already holds both)
// shares the show's slice instead of allocating one per episode.
func showGUIDs(show *showInfo, ids itemIDs, grandparentGUID string) []string {
	var extra []string
	var base []string
	if show != nil {
		base = show.guids
	}
	if ids.show != "" && !slices.Contains(base, ids.show) {
		extra = append(extra, ids.show)
	}
	if grandparentGUID != "" && show == nil {
		extra = append(extra, parseIDs(grandparentGUID, nil).own...)
	}
	if len(extra) == 0 {
		return base
	}
	return guids.Sort(append(append([]string(nil), base...), extra...))
}

// kindOf maps a Plex item type to an observation kind; ok is false for what
// keepwatch does not sync (tracks, clips, photos, shows, seasons).
func kindOf(t string) (plugins.ItemKind, bool) {
	switch t {
	case "movie":
		return plugins.KindMovie, true
	case "episode":
		return plugins.KindEpisode, true
	}
	return "", false
}

func ms(v int64) time.Duration { return time.Duration(v) * time.Millisecond }

func epoch(v int64) time.Time {
	if v <= 0 {
		return time.Time{}
	}
	return time.Unix(v, 0).UTC()
}

// fill writes what m says about the item into o (identity only; the caller
// sets the account, the library and the state).
func fill(o *plugins.Observation, m *metadata, kind plugins.ItemKind, show *showInfo) {
	ids := parseIDs(m.GUID, m.GUIDs)
	o.ItemID = m.RatingKey
	o.Kind = kind
	o.Title = m.Title
	o.Year = m.Year
	o.GUIDs = ids.own
	o.Duration = ms(m.Duration)
	if kind != plugins.KindEpisode {
		return
	}
	o.ShowID = m.GrandparentRatingKey
	o.ShowTitle = m.GrandparentTitle
	if o.ShowTitle == "" && show != nil {
		o.ShowTitle = show.title
	}
	o.ShowGUIDs = showGUIDs(show, ids, m.GrandparentGUID)
	o.Season, o.Episode = m.ParentIndex, m.Index
	if o.Season == 0 && o.Episode == 0 && ids.show != "" {
		o.Season, o.Episode = ids.season, ids.episode
	}
}

// rowState is the play state of an import row: every key absent means zero
// (wire-formats §2.2). An in-progress item has lastViewedAt without viewCount:
// that date is not a completed play.
func rowState(m *metadata) plugins.State {
	st := plugins.State{
		WatchedKnown:  true,
		Watched:       m.ViewCount > 0,
		ProgressKnown: true,
		Progress:      ms(max(m.ViewOffset, 0)),
		PlayCount:     max(m.ViewCount, 0),
	}
	if st.Watched {
		st.PlayedAt = epoch(m.LastViewedAt)
	}
	return st
}
