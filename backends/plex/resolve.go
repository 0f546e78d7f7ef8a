package plex

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/keepwatch/keepwatch/plugins"
)

// PMS filters items by their own guid attribute only (guid=plex://movie/…);
// the external ids of the new agents live in Guid[] and cannot be searched
// (python-plexapi builds a lookup table for the same reason). Resolve
// therefore keeps an index of the movies' and shows' GUIDs, built by one
// type=1/type=2 sweep of each section with the owner's token and rebuilt when
// older than indexTTL. It costs about one map entry per GUID of a movie or
// show (episodes are not indexed): an episode is found through its show's
// GUIDs, then its season and episode number among the show's episodes
// (/library/metadata/{show}/allLeaves).

const indexTTL = 10 * time.Minute

type indexEntry struct {
	ratingKey string
	section   *librarySection
	kind      plugins.ItemKind // movie, or episode for a show's entry
}

type guidIndex struct {
	st *state

	mu      sync.Mutex
	builtAt time.Time
	byGUID  map[string]indexEntry
}

func newGUIDIndex(st *state) *guidIndex { return &guidIndex{st: st} }

// snapshot answers the index, rebuilding it when stale.
func (ix *guidIndex) snapshot(ctx context.Context) (map[string]indexEntry, error) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.byGUID != nil && time.Since(ix.builtAt) < indexTTL {
		return ix.byGUID, nil
	}
	st := ix.st
	owner, err := st.dir.owner(ctx)
	if err != nil {
		return nil, err
	}
	imp := &importer{st: st, acct: owner, size: st.s.pageSize}
	var secs container
	if err := imp.call(ctx, func(tok string) error { return st.c.get(ctx, tok, "/library/sections", nil, &secs) }); err != nil {
		return nil, fmt.Errorf("list libraries: %w", err)
	}
	idx := map[string]indexEntry{}
	for i := range secs.MediaContainer.Directory {
		d := &secs.MediaContainer.Directory[i]
		typ, kind := typeMovie, plugins.KindMovie
		switch d.Type {
		case "movie":
		case "show":
			typ, kind = typeShow, plugins.KindEpisode
		default:
			continue
		}
		err := imp.pages(ctx, *d, typ, "", func(rows []metadata) error {
			for i := range rows {
				for _, g := range parseIDs(rows[i].GUID, rows[i].GUIDs).own {
					if _, dup := idx[g]; !dup {
						idx[g] = indexEntry{ratingKey: rows[i].RatingKey, section: d, kind: kind}
					}
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	ix.byGUID, ix.builtAt = idx, time.Now()
	return idx, nil
}

// Resolve finds ratingKeys for items known by GUID. Movies match any of their
// GUIDs; episodes match their show's GUIDs plus season and episode number, or
// failing numbers, their own GUIDs among the show's episodes. The index is
// the owner's view of the server; ResolveRequest.AccountID does not narrow it
// (a write to an item the account cannot see fails on its own).
func (b *Backend) Resolve(ctx context.Context, req plugins.ResolveRequest) ([]plugins.Resolution, error) {
	st, err := b.state()
	if err != nil {
		return nil, err
	}
	out := make([]plugins.Resolution, len(req.Queries))
	if len(req.Queries) == 0 {
		return out, nil
	}
	idx, err := st.index.snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("plex: resolve: index the library: %w", unavailable(err))
	}
	leaves := map[string][]metadata{} // show ratingKey → its episodes, for this call
	for i, q := range req.Queries {
		switch q.Kind {
		case plugins.KindEpisode:
			r, err := st.resolveEpisode(ctx, idx, leaves, q)
			if err != nil {
				return nil, fmt.Errorf("plex: resolve: %w", unavailable(err))
			}
			out[i] = r
		default:
			for _, g := range q.GUIDs {
				if e, ok := idx[g]; ok && e.kind == plugins.KindMovie {
					out[i] = plugins.Resolution{ItemID: e.ratingKey, LibraryID: e.section.Key, LibraryName: e.section.Title}
					break
				}
			}
		}
	}
	return out, nil
}

func (st *state) resolveEpisode(ctx context.Context, idx map[string]indexEntry, leaves map[string][]metadata, q plugins.ResolveQuery) (plugins.Resolution, error) {
	for _, g := range q.ShowGUIDs {
		e, ok := idx[g]
		if !ok || e.kind != plugins.KindEpisode {
			continue
		}
		eps, ok := leaves[e.ratingKey]
		if !ok {
			var err error
			if eps, err = st.showEpisodes(ctx, e.ratingKey); err != nil {
				return plugins.Resolution{}, err
			}
			leaves[e.ratingKey] = eps
		}
		for j := range eps {
			m := &eps[j]
			if match := (q.Season != 0 || q.Episode != 0) && m.ParentIndex == q.Season && m.Index == q.Episode; match || ownMatch(m, q.GUIDs) {
				return plugins.Resolution{ItemID: m.RatingKey, LibraryID: e.section.Key, LibraryName: e.section.Title}, nil
			}
		}
	}
	return plugins.Resolution{}, nil
}

func ownMatch(m *metadata, want []string) bool {
	if len(want) == 0 {
		return false
	}
	for _, g := range parseIDs(m.GUID, m.GUIDs).own {
		for _, w := range want {
			if g == w {
				return true
			}
		}
	}
	return false
}

// showEpisodes lists a show's episodes (owner's view); a show PMS no longer
// has has none.
func (st *state) showEpisodes(ctx context.Context, showKey string) ([]metadata, error) {
	eps, err := st.leaves(ctx, showKey)
	if isNotFound(err) {
		return nil, nil
	}
	return eps, err
}

// leaves lists the episodes of a show or a season (allLeaves, owner's view),
// page by page. A show or season PMS no longer has answers an error that
// isNotFound reports.
func (st *state) leaves(ctx context.Context, key string) ([]metadata, error) {
	owner, err := st.dir.owner(ctx)
	if err != nil {
		return nil, err
	}
	var all []metadata
	path := "/library/metadata/" + url.PathEscape(key) + "/allLeaves"
	for start := 0; ; {
		var mc container
		err := st.dir.withToken(ctx, owner, func(tok string) error {
			return st.c.getPage(ctx, tok, path, url.Values{"includeGuids": {"1"}}, "", start, st.s.pageSize, &mc)
		})
		if err != nil {
			return nil, fmt.Errorf("list the episodes of %s: %w", key, err)
		}
		rows := mc.MediaContainer.Metadata
		all = append(all, rows...)
		start += len(rows)
		if len(rows) == 0 || len(rows) < st.s.pageSize || (mc.MediaContainer.TotalSize > 0 && start >= mc.MediaContainer.TotalSize) {
			return all, nil
		}
	}
}
