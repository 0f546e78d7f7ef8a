package tautulli

import (
	"github.com/rs/zerolog"

	"github.com/keepwatch/keepwatch/plugins"
	"github.com/keepwatch/keepwatch/plugins/guids"
)

// guidInput is what a webhook or a history row says about an item's ids.
type guidInput struct {
	// agents are Plex guid strings ({guid}, a row's guid, Guid[] ids):
	// plex://movie|episode/…, or legacy agent strings, which for TV name
	// the show and the numbers (com.plexapp.agents.thetvdb://81189/1/1).
	agents []string
	// external are normalised ids from Tautulli's lookups: a movie's own,
	// but an episode's SHOW's ({imdb_id} etc. come from the grandparent).
	external []string
	// season and episode are the episode's numbers when numbered.
	season, episode int64
	numbered        bool
}

// applyGUIDs sets o's GUIDs, ShowGUIDs and numbers from in. An episode's
// own GUIDs come only from its Plex guid; its show's from the external ids
// and a legacy agent string. Show GUIDs are kept only with both numbers:
// without them the engine's show+season+episode match would find the wrong
// episode.
func applyGUIDs(log zerolog.Logger, o *plugins.Observation, in guidInput) {
	var own, show []string
	for _, s := range in.agents {
		if s == "" {
			continue
		}
		a, err := guids.PlexAgent(s)
		if err != nil {
			log.Debug().Err(err).Str("item", o.ItemID).Msg("ignoring a malformed Plex guid")
			continue
		}
		own = append(own, a.GUIDs...)
		if a.Show != "" && o.Kind == plugins.KindEpisode {
			show = append(show, a.Show)
			if !in.numbered {
				in.season, in.episode, in.numbered = int64(a.Season), int64(a.Episode), true
			}
		}
	}
	if o.Kind == plugins.KindMovie {
		o.GUIDs = guids.Sort(append(own, in.external...))
		return
	}
	o.GUIDs = guids.Sort(own)
	if in.numbered {
		o.Season, o.Episode = int(in.season), int(in.episode)
		o.ShowGUIDs = guids.Sort(append(show, in.external...))
	}
}

// year keeps plausible release years only.
func year(y int64) int {
	if y > 1800 && y < 3000 {
		return int(y)
	}
	return 0
}
