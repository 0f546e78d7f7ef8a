package mbbackend

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/keepwatch/keepwatch/backends/internal/mediabrowser/client"
	"github.com/keepwatch/keepwatch/plugins"
	"github.com/keepwatch/keepwatch/plugins/guids"
)

// videoTypes are the item types the sync reads.
var videoTypes = []string{"Movie", "Episode"}

// importFields are the BaseItemDto fields an import row needs beyond the defaults.
var importFields = []string{"ProviderIds", "Path"}

// deltaFirstPage is the first page of a delta's queries: a delta after a few plays must
// read a few items, not a page of a thousand. Pages then double up to page_size.
const deltaFirstPage = 8

// deltaSlack is how long before since a delta still reads. LastPlayedDate moves when
// playback starts, not when it stops, while the position and the watched flag change when it
// stops: a long or paused session that started before since and stopped after it left an
// item whose LastPlayedDate is before since, resumable at its new position or played to the
// end. A day covers a film, an evening of episodes and an overnight pause; an older
// session's change waits for the periodic full import. Plays of the day before since are
// read again, which costs a few items.
const deltaSlack = 24 * time.Hour

// seriesChunk bounds the ids of one Ids= query (URL length: 33 bytes an id).
const seriesChunk = 100

// Import streams one account's movies and episodes, library by library. See the package
// documentation for the full and delta strategies.
func (b *Backend) Import(ctx context.Context, req plugins.ImportRequest, emit func([]plugins.Observation) error) error {
	cf, err := b.current()
	if err != nil {
		return err
	}
	if req.AccountID == "" {
		return fmt.Errorf("%s: import: the account id is empty", b.d.Type)
	}
	limit := cf.pageSize
	if req.PageSize > 0 && req.PageSize < limit {
		limit = req.PageSize
	}
	views, err := cf.c.Views(ctx, req.AccountID)
	if err != nil {
		return b.errorf("import: list libraries of account "+req.AccountID, err)
	}
	im := &importer{c: cf.c, user: req.AccountID, limit: limit, emit: emit, series: map[string][]string{}, page: make([]plugins.Observation, 0, limit)}
	for _, lib := range Libraries(views, req.Libraries) {
		if req.Since.IsZero() {
			err = im.full(ctx, lib)
		} else {
			err = im.delta(ctx, lib, req.Since)
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return b.errorf(fmt.Sprintf("import library %q (%s)", lib.Name, lib.ID), err)
		}
	}
	return nil
}

// Libraries keeps the views that hold movies or shows (collection types movies, tvshows,
// mixed or unset) and that the filter selects by id or name (exclude wins).
func Libraries(views []client.Item, f plugins.LibraryFilter) []client.Item {
	var out []client.Item
	for _, v := range views {
		switch strings.ToLower(v.CollectionType) {
		case "movies", "tvshows", "mixed", "":
		default:
			continue
		}
		if len(f.Include) > 0 && !matchLibrary(v, f.Include) {
			continue
		}
		if matchLibrary(v, f.Exclude) {
			continue
		}
		out = append(out, v)
	}
	return out
}

func matchLibrary(v client.Item, list []string) bool {
	for _, s := range list {
		if client.SameID(s, v.ID) || strings.EqualFold(strings.TrimSpace(s), v.Name) {
			return true
		}
	}
	return false
}

// importer is one import run.
type importer struct {
	c      *client.Client
	user   string
	limit  int
	emit   func([]plugins.Observation) error
	series map[string][]string // series id → its GUIDs (nil: none or not found)
	page   []plugins.Observation
	seen   map[string]bool // delta: items already emitted
}

func (im *importer) query(lib client.Item) client.Query {
	return client.Query{ParentID: lib.ID, Types: videoTypes, Fields: importFields, Limit: im.limit}
}

func (im *importer) full(ctx context.Context, lib client.Item) error {
	return im.c.EachPage(ctx, im.user, im.query(lib), func(p client.Page) (bool, error) {
		return false, im.emitItems(ctx, lib, p.Items)
	})
}

// delta reads, from one library, what changed since: the played and the resumable items
// whose playback started after since (less deltaSlack). See the package documentation.
func (im *importer) delta(ctx context.Context, lib client.Item, since time.Time) error {
	if im.seen == nil {
		im.seen = map[string]bool{}
	}
	cutoff := since.Add(-deltaSlack)
	if err := im.playedSince(ctx, lib, "IsPlayed", cutoff); err != nil {
		return err
	}
	return im.playedSince(ctx, lib, "IsResumable", cutoff)
}

// playedSince emits the library's items that pass filter and whose LastPlayedDate is at or
// after cutoff, read newest first (SortBy=DatePlayed, Descending) in pages that start at
// deltaFirstPage and double up to the page size, so that a few changes cost a few items.
// Playback start moves LastPlayedDate to now on both servers, so the sort brings what was
// played lately first; the first item whose date is before cutoff, or null (sorted last),
// ends the read. Items already emitted by this import are skipped.
func (im *importer) playedSince(ctx context.Context, lib client.Item, filter string, cutoff time.Time) error {
	q := im.query(lib)
	q.Filters, q.SortBy, q.SortOrder = []string{filter}, "DatePlayed", "Descending"
	q.Limit, q.MaxLimit = min(deltaFirstPage, im.limit), im.limit
	return im.c.EachPage(ctx, im.user, q, func(p client.Page) (bool, error) {
		items, done := p.Items[:0:0], false
		for _, it := range p.Items {
			if it.UserData == nil || it.UserData.LastPlayedDate.IsZero() || it.UserData.LastPlayedDate.Before(cutoff) {
				done = true
				break
			}
			if !im.seen[it.ID] {
				im.seen[it.ID] = true
				items = append(items, it)
			}
		}
		return done, im.emitItems(ctx, lib, items)
	})
}

// emitItems converts a page and emits it (nothing when no row is a movie or an episode).
func (im *importer) emitItems(ctx context.Context, lib client.Item, items []client.Item) error {
	if err := im.loadSeries(ctx, items); err != nil {
		return err
	}
	im.page = im.page[:0]
	for i := range items {
		if o, ok := im.observation(lib, &items[i]); ok {
			im.page = append(im.page, o)
		}
	}
	if len(im.page) == 0 {
		return nil
	}
	if err := im.emit(im.page); err != nil {
		return err
	}
	return ctx.Err()
}

// loadSeries reads the ProviderIds of the page's series not seen yet, in Ids= batches.
func (im *importer) loadSeries(ctx context.Context, items []client.Item) error {
	var missing []string
	for i := range items {
		id := items[i].SeriesID
		if items[i].Type != "Episode" || id == "" {
			continue
		}
		if _, ok := im.series[id]; !ok {
			im.series[id] = nil
			missing = append(missing, id)
		}
	}
	for _, ids := range client.Chunk(missing, seriesChunk) {
		p, err := im.c.Items(ctx, im.user, client.Query{IDs: ids, Fields: []string{"ProviderIds"}, NoUserData: true})
		if err != nil {
			return fmt.Errorf("read series %s: %w", strings.Join(ids, ","), err)
		}
		for _, s := range p.Items {
			im.series[s.ID] = guids.FromProviderIDs(s.ProviderIDs)
		}
	}
	return nil
}

func (im *importer) observation(lib client.Item, it *client.Item) (plugins.Observation, bool) {
	kind, ok := Kind(it.Type)
	if !ok || it.ID == "" {
		return plugins.Observation{}, false
	}
	o := plugins.Observation{
		AccountID: im.user, ItemID: it.ID, LibraryID: lib.ID, LibraryName: lib.Name,
		Kind: kind, Title: it.Name, Year: it.ProductionYear,
		GUIDs:    guids.FromProviderIDs(it.ProviderIDs),
		Duration: client.Duration(max(it.RunTimeTicks, 0)),
	}
	if kind == plugins.KindEpisode {
		o.ShowID, o.ShowTitle, o.ShowGUIDs = it.SeriesID, it.SeriesName, im.series[it.SeriesID]
		o.Season, o.Episode = max(it.ParentIndexNumber, 0), max(it.IndexNumber, 0)
	}
	if it.UserData != nil {
		o.State = State(*it.UserData)
	} else {
		o.State = plugins.State{WatchedKnown: true, ProgressKnown: true}
	}
	return o, true
}

// Kind maps a BaseItemDto Type to an item kind.
func Kind(typ string) (plugins.ItemKind, bool) {
	switch typ {
	case "Movie":
		return plugins.KindMovie, true
	case "Episode":
		return plugins.KindEpisode, true
	}
	return "", false
}

// State is the play state a UserItemDataDto says. LastPlayedDate is a play date only when
// the item is played: playback start moves it too, and unplaying clears it.
func State(ud client.UserData) plugins.State {
	s := plugins.State{
		WatchedKnown: true, Watched: ud.Played,
		ProgressKnown: true, Progress: client.Duration(max(ud.PlaybackPositionTicks, 0)),
		PlayCount: max(ud.PlayCount, 0),
	}
	if ud.Played {
		s.PlayedAt = ud.LastPlayedDate.Time
	}
	return s
}
