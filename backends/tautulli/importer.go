package tautulli

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/keepwatch/keepwatch/plugins"
)

// sinceSlack is how long before Since a row's date (its last session's
// start) may lie while the row still ends after Since: a session rarely
// runs, paused or not, for more than a day. Rows are read newest first and
// paging stops at the first row older than Since minus the slack.
const sinceSlack = 24 * time.Hour

// section is a movie or TV library of the Plex server.
type section struct {
	id, name, mediaType string // mediaType is get_history's: movie or episode
}

// Import reads one account's history, section by section, and emits one
// observation per played item with its latest state:
//
//   - Tautulli's history is a log of plays (several rows per item), and an
//     import must give each item once, so rows are folded per item:
//     watched when any row has watched_status 1 (Tautulli's own completion
//     rule, MOVIE/TV_WATCHED_PERCENT), or, on a row without watched_status,
//     percent_complete ≥ options.watched_percent (rowWatched); PlayedAt the
//     latest such row's stopped time, PlayCount the number of such rows. An
//     item with only partial plays is unwatched in a full import.
//   - History rows carry no resume position (percent_complete, but neither
//     view_offset nor the item's length: their duration is the time
//     played), so imports carry no progress; Tautulli's webhooks do.
//   - With Since, only rows that ended after Since count, and an item with
//     only partial plays in that window is left out: it says nothing about
//     the watched flag (an older completion may exist) and has no position.
//
// The fold holds one small entry per item of one section at a time; rows
// are not kept.
func (b *Backend) Import(ctx context.Context, req plugins.ImportRequest, emit func([]plugins.Observation) error) error {
	s, err := b.settings()
	if err != nil {
		return err
	}
	if !isDigits(req.AccountID) {
		return fmt.Errorf("tautulli: import: account id %q is not a Tautulli user id (digits, as ListAccounts gives)", req.AccountID)
	}
	sections, err := s.sections(ctx, req.Libraries)
	if err != nil {
		return err
	}
	size := req.PageSize
	if size <= 0 {
		size = s.pageSize
	}
	page := make([]plugins.Observation, 0, size)
	flush := func() error {
		if len(page) == 0 {
			return nil
		}
		if err := emit(page); err != nil {
			return err
		}
		page = page[:0]
		return ctx.Err()
	}
	for _, sec := range sections {
		items, err := s.sectionHistory(ctx, req, sec)
		if err != nil {
			return err
		}
		for _, o := range items {
			page = append(page, o)
			if len(page) == size {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

// sections lists the movie and TV sections the filter lets through, by id.
func (s *settings) sections(ctx context.Context, f plugins.LibraryFilter) ([]section, error) {
	var libs []libraryName
	if err := s.api.call(ctx, "get_library_names", nil, &libs); err != nil {
		return nil, fmt.Errorf("tautulli: import: list libraries: %w", unavailable(err))
	}
	var out []section
	for _, l := range libs {
		sec := section{id: l.SectionID.String(), name: text(l.SectionName)}
		switch text(l.SectionType) {
		case "movie":
			sec.mediaType = "movie"
		case "show":
			sec.mediaType = "episode"
		default:
			continue // music, photos: nothing keepwatch syncs
		}
		if sec.id == "" || !wanted(f, sec) {
			continue
		}
		out = append(out, sec)
	}
	sort.Slice(out, func(i, j int) bool {
		a, _ := strconv.Atoi(out[i].id)
		b, _ := strconv.Atoi(out[j].id)
		return a < b
	})
	return out, nil
}

func wanted(f plugins.LibraryFilter, sec section) bool {
	match := func(list []string) bool {
		return slices.Contains(list, sec.id) || (sec.name != "" && slices.Contains(list, sec.name))
	}
	if match(f.Exclude) {
		return false
	}
	return len(f.Include) == 0 || match(f.Include)
}

// itemFold is what the rows of one item add up to.
type itemFold struct {
	obs      plugins.Observation // from the item's newest row
	watched  bool
	playedAt int64 // epoch seconds of the newest watched row's end
	plays    int
}

// sectionHistory pages through one section's history of the account,
// newest first, and folds it per item (see Import).
func (s *settings) sectionHistory(ctx context.Context, req plugins.ImportRequest, sec section) ([]plugins.Observation, error) {
	params := url.Values{
		"user_id": {req.AccountID}, "section_id": {sec.id}, "media_type": {sec.mediaType},
		// grouping=1 folds a play resumed later into one row, as
		// Tautulli's own history table shows it.
		"grouping": {"1"}, "include_activity": {"0"},
		"order_column": {"date"}, "order_dir": {"desc"}, "length": {strconv.Itoa(s.pageSize)},
	}
	delta := !req.Since.IsZero()
	since, cutoff := req.Since.Unix(), req.Since.Add(-sinceSlack).Unix()
	if delta {
		// after compares the server's local date of each session's start
		// (inclusive); a day before cutoff's UTC date covers every zone.
		params.Set("after", req.Since.Add(-sinceSlack-14*time.Hour).UTC().Format(time.DateOnly))
	}
	folds := map[int64]*itemFold{}
	var order []*itemFold
	for start := 0; ; {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		params.Set("start", strconv.Itoa(start))
		var page historyPage
		if err := s.api.call(ctx, "get_history", params, &page); err != nil {
			return nil, fmt.Errorf("tautulli: import history of user %s, library %s: %w", req.AccountID, sec.id, unavailable(err))
		}
		stop := false
		for i := range page.Data {
			r := &page.Data[i]
			if delta && r.Date.V < cutoff {
				stop = true
				break
			}
			if delta && r.end() <= since {
				continue
			}
			if !r.RatingKey.Valid || r.Live.V == 1 || text(r.MediaType) != sec.mediaType {
				continue // live TV, or a row of another kind
			}
			f := folds[r.RatingKey.V]
			if f == nil {
				f = &itemFold{obs: s.rowObservation(req.AccountID, sec, r)}
				folds[r.RatingKey.V] = f
				order = append(order, f)
			}
			if s.rowWatched(r) {
				f.watched = true
				f.plays++
				f.playedAt = max(f.playedAt, r.end())
			}
		}
		start += len(page.Data)
		if stop || len(page.Data) == 0 || len(page.Data) < s.pageSize || (page.RecordsFiltered.Valid && int64(start) >= page.RecordsFiltered.V) {
			break
		}
	}
	out := make([]plugins.Observation, 0, len(order))
	for _, f := range order {
		if delta && !f.watched {
			continue
		}
		o := f.obs
		o.State = plugins.State{WatchedKnown: true, Watched: f.watched}
		if f.watched {
			o.State.PlayedAt = time.Unix(f.playedAt, 0).UTC()
		}
		if !delta {
			o.State.PlayCount = f.plays
		}
		out = append(out, o)
	}
	return out, nil
}

// rowWatched says whether a history row records a completion. Tautulli's
// watched_status is its own rule (1 at or past MOVIE/TV_WATCHED_PERCENT or
// the credits marker; 0.75, 0.5, 0.25 partial; 0 not) and wins when the row
// has it. A row without it (absent, null or "") is decided as DESIGN rule 6
// decides a source without a completion signal: percent_complete at or past
// watched_percent. A row with neither says no completion.
func (s *settings) rowWatched(r *historyRow) bool {
	if r.WatchedStatus.Valid {
		return r.WatchedStatus.V >= 1
	}
	return r.PercentComplete.Valid && r.PercentComplete.V >= float64(s.watchedPercent)
}

// end is when the row's play ended: stopped, or date when Tautulli has no
// stop time.
func (r *historyRow) end() int64 {
	if r.Stopped.Valid && r.Stopped.V > 0 {
		return r.Stopped.V
	}
	return r.Date.V
}

// rowObservation describes the item of a history row, without state.
func (s *settings) rowObservation(account string, sec section, r *historyRow) plugins.Observation {
	o := plugins.Observation{
		AccountID: account, AccountName: text(r.User), ItemID: r.RatingKey.String(),
		LibraryID: sec.id, LibraryName: sec.name, Title: text(r.Title),
	}
	in := guidInput{agents: []string{text(r.GUID)}}
	if sec.mediaType == "movie" {
		o.Kind = plugins.KindMovie
		o.Year = year(r.Year.V)
	} else {
		o.Kind = plugins.KindEpisode
		o.ShowID, o.ShowTitle = r.GrandparentRatingKey.String(), text(r.GrandparentTitle)
		in.season, in.episode = r.ParentMediaIndex.V, r.MediaIndex.V
		in.numbered = r.ParentMediaIndex.Valid && r.MediaIndex.Valid && in.season >= 0 && in.episode >= 0
	}
	applyGUIDs(s.log, &o, in)
	return o
}
