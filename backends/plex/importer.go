package plex

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/keepwatch/keepwatch/plugins"
)

// Plex media types (the type= of a section listing).
const (
	typeMovie   = "1"
	typeShow    = "2"
	typeEpisode = "4"
)

// Import streams one account's play state, section by section, one PMS page
// (X-Plex-Container-Start/-Size) per emitted page: memory holds one page, plus
// for a full import of a show section the GUIDs of its shows (one type=2
// sweep per section, a few hundred bytes per show).
//
// With req.Since, only items played or updated after it are asked for
// (lastViewedAt>>=… or updatedAt>>=…): play state never moves updatedAt, and a
// saved position stamps lastViewedAt, so new plays and the in-progress set
// are both found. Unwatches are invisible to any delta (the keys vanish); full
// imports catch them.
func (b *Backend) Import(ctx context.Context, req plugins.ImportRequest, emit func([]plugins.Observation) error) error {
	st, err := b.state()
	if err != nil {
		return err
	}
	acct, err := st.dir.find(ctx, req.AccountID)
	if err != nil {
		return fmt.Errorf("plex: import: %w", err)
	}
	size := st.s.pageSize
	if req.PageSize > 0 && req.PageSize < size {
		size = req.PageSize
	}
	imp := &importer{st: st, acct: acct, size: size, emit: emit, page: make([]plugins.Observation, 0, size)}
	if !req.Since.IsZero() {
		imp.filter = deltaFilter(req.Since)
	}
	var secs container
	if err := imp.call(ctx, func(tok string) error { return st.c.get(ctx, tok, "/library/sections", nil, &secs) }); err != nil {
		return fmt.Errorf("plex: import %s: list libraries: %w", acct.name, unavailable(err))
	}
	for _, d := range secs.MediaContainer.Directory {
		if (d.Type != "movie" && d.Type != "show") || !selected(req.Libraries, d) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := imp.section(ctx, d); err != nil {
			return err
		}
	}
	return nil
}

// deltaFilter asks for items played (or progressed) or updated since t. The
// terms are ordered (or=1 joins its neighbours) and the operator ">>" is part
// of the key: "lastViewedAt>>=N" is the key "lastViewedAt>>" and the value N.
// One second of overlap keeps plays of the boundary second.
func deltaFilter(t time.Time) string {
	n := itoa(t.Unix() - 1)
	return "lastViewedAt%3E%3E=" + n + "&or=1&updatedAt%3E%3E=" + n
}

// selected applies include/exclude (by section key or title; exclude wins).
func selected(f plugins.LibraryFilter, d librarySection) bool {
	match := func(list []string) bool {
		for _, v := range list {
			if v == d.Key || strings.EqualFold(v, d.Title) {
				return true
			}
		}
		return false
	}
	if match(f.Exclude) {
		return false
	}
	return len(f.Include) == 0 || match(f.Include)
}

type importer struct {
	st     *state
	acct   account
	size   int
	filter string
	emit   func([]plugins.Observation) error
	page   []plugins.Observation
}

func (imp *importer) call(ctx context.Context, fn func(tok string) error) error {
	return imp.st.dir.withToken(ctx, imp.acct, fn)
}

// pages reads a listing page by page and hands each to fn.
func (imp *importer) pages(ctx context.Context, d librarySection, typ, filter string, fn func([]metadata) error) error {
	path := "/library/sections/" + url.PathEscape(d.Key) + "/all"
	q := url.Values{"type": {typ}, "includeGuids": {"1"}}
	for start := 0; ; {
		if err := ctx.Err(); err != nil {
			return err
		}
		var mc container
		err := imp.call(ctx, func(tok string) error {
			return imp.st.c.getPage(ctx, tok, path, q, filter, start, imp.size, &mc)
		})
		if err != nil {
			return fmt.Errorf("plex: import %s: library %q (%s) type %s at %d: %w", imp.acct.name, d.Title, d.Key, typ, start, unavailable(err))
		}
		rows := mc.MediaContainer.Metadata
		if len(rows) == 0 {
			return nil
		}
		if err := fn(rows); err != nil {
			return err
		}
		start += len(rows)
		if total := mc.MediaContainer.TotalSize; (total > 0 && start >= total) || len(rows) < imp.size {
			return nil
		}
	}
}

func (imp *importer) section(ctx context.Context, d librarySection) error {
	if d.Type == "movie" {
		return imp.pages(ctx, d, typeMovie, imp.filter, func(rows []metadata) error {
			return imp.emitRows(d, rows, plugins.KindMovie, nil)
		})
	}
	full := imp.filter == ""
	var shows map[string]showInfo
	if full {
		// A full import sweeps the shows once: one request per page of shows
		// instead of one per episode.
		shows = map[string]showInfo{}
		err := imp.pages(ctx, d, typeShow, "", func(rows []metadata) error {
			for i := range rows {
				shows[rows[i].RatingKey] = showOf(&rows[i])
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return imp.pages(ctx, d, typeEpisode, imp.filter, func(rows []metadata) error {
		pageShows := shows
		if !full {
			// A delta sees few episodes: their shows come from the shared
			// cache, missing ones in one batched request per page.
			var err error
			if pageShows, err = imp.deltaShows(ctx, rows); err != nil {
				return fmt.Errorf("plex: import %s: library %q: look up shows: %w", imp.acct.name, d.Title, unavailable(err))
			}
		}
		return imp.emitRows(d, rows, plugins.KindEpisode, pageShows)
	})
}

func (imp *importer) deltaShows(ctx context.Context, rows []metadata) (map[string]showInfo, error) {
	keys := make([]string, 0, len(rows))
	for i := range rows {
		keys = append(keys, rows[i].GrandparentRatingKey)
	}
	var out map[string]showInfo
	err := imp.call(ctx, func(tok string) error {
		var err error
		out, err = imp.st.lookupShows(ctx, tok, keys)
		return err
	})
	return out, err
}

// emitRows converts one PMS page and emits it. Rows of other types (a listing
// mixing in clips) are skipped.
func (imp *importer) emitRows(d librarySection, rows []metadata, kind plugins.ItemKind, shows map[string]showInfo) error {
	page := imp.page[:0]
	for i := range rows {
		m := &rows[i]
		if k, ok := kindOf(m.Type); !ok || k != kind || m.RatingKey == "" {
			continue
		}
		var show *showInfo
		if kind == plugins.KindEpisode {
			if s, ok := shows[m.GrandparentRatingKey]; ok {
				show = &s
			}
		}
		page = append(page, plugins.Observation{
			AccountID: imp.acct.id, AccountName: imp.acct.name,
			LibraryID: d.Key, LibraryName: d.Title,
			State: rowState(m),
		})
		fill(&page[len(page)-1], m, kind, show)
	}
	imp.page = page
	if len(page) == 0 {
		return nil
	}
	return imp.emit(page)
}
