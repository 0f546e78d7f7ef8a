package fakeserver

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// itemQuery is the subset of InternalItemsQuery the fake models.
type itemQuery struct {
	user           int // -1: no user
	recursive      bool
	parent         int32 // -1: none
	include        uint8 // kind bit set; 0 = all
	exclude        uint8
	fields         map[string]bool // lower-cased Fields values
	enableUserData bool
	played         *bool // Filters=IsPlayed/IsUnplayed and isPlayed=
	resumable      bool
	favorite       *bool
	folder         *bool
	minSaved       *time.Time // MinDateLastSaved
	minSavedUser   *time.Time // MinDateLastSavedForUser
	ids            []int32    // nil: not filtered
	anyProvider    []kv
	sort           []sortKey
	start          int
	limit          int // -1: all
}

type sortKey struct {
	field string // lower-cased ItemSortBy name
	desc  bool
}

var sortFields = map[string]bool{
	"sortname": true, "name": true, "datecreated": true, "dateplayed": true, "playcount": true,
	"premieredate": true, "productionyear": true, "runtime": true, "datelastcontentadded": true,
}

var filterNames = map[string]bool{
	"isfolder": true, "isnotfolder": true, "isunplayed": true, "isplayed": true, "isfavorite": true,
	"isresumable": true, "likes": true, "dislikes": true, "isfavoriteorlikes": true,
}

// queryError is a bad parameter; handlers answer 400 with the message.
type queryError struct{ msg string }

func (e *queryError) Error() string { return e.msg }

func badParam(name, value, fix string) error {
	return &queryError{fmt.Sprintf("parameter %s: value %q is not valid; %s", name, value, fix)}
}

func parseBoolParam(q queryValues, name string) (*bool, error) {
	if !q.has(name) {
		return nil, nil
	}
	v := q.get(name)
	if v == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(strings.ToLower(v))
	if err != nil {
		return nil, badParam(name, v, "use true or false")
	}
	return &b, nil
}

func parseIntParam(q queryValues, name string, def int) (int, error) {
	v := q.get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, badParam(name, v, "use a non-negative integer")
	}
	return n, nil
}

// parseISODate binds an ISO-8601 date the way ASP.NET's DateTime binder does
// (AdjustToUniversal: values without a zone are taken as UTC).
func parseISODate(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), true
		}
	}
	// .NET also accepts a space between date and time.
	if t, err := time.Parse("2006-01-02 15:04:05", v); err == nil {
		return t.UTC(), true
	}
	return time.Time{}, false
}

func (c *reqCtx) parseItemQuery(user int) (*itemQuery, error) {
	s, q := c.s, c.q
	iq := &itemQuery{user: user, parent: -1, limit: -1, enableUserData: true, fields: map[string]bool{}}
	if b, err := parseBoolParam(q, "Recursive"); err != nil {
		return nil, err
	} else if b != nil {
		iq.recursive = *b
	}
	if v := q.get("ParentId"); v != "" {
		idx, ok, wellFormed := s.parseItemID(v)
		if !wellFormed && s.cfg.Flavor == Jellyfin {
			return nil, badParam("parentId", v, "use an item id (32 hex digits)")
		}
		if !ok {
			idx = -2 // unknown parent: matches nothing
		}
		iq.parent = idx
	}
	for _, p := range []struct {
		name string
		dst  *uint8
	}{{"IncludeItemTypes", &iq.include}, {"ExcludeItemTypes", &iq.exclude}} {
		for _, t := range q.list(p.name) {
			k, ok := kindFromTypeName(t)
			if !ok {
				if s.cfg.Flavor == Jellyfin && !knownJellyfinKind(t) {
					return nil, badParam(p.name, t, "use BaseItemKind names such as Movie, Series, Season, Episode")
				}
				// A real kind this library never holds (Audio, BoxSet, ...): matches nothing.
				if p.dst == &iq.include {
					iq.include |= 1 << kindCount
				}
				continue
			}
			*p.dst |= 1 << k
		}
	}
	for _, f := range q.list("Fields") {
		iq.fields[strings.ToLower(f)] = true
	}
	if b, err := parseBoolParam(q, "EnableUserData"); err != nil {
		return nil, err
	} else if b != nil {
		iq.enableUserData = *b
	}
	for _, f := range q.list("Filters") {
		lf := strings.ToLower(f)
		if !filterNames[lf] {
			return nil, badParam("Filters", f, "use IsPlayed, IsUnplayed, IsResumable, IsFavorite, IsFolder or IsNotFolder")
		}
		yes, no := true, false
		switch lf {
		case "isplayed":
			iq.played = &yes
		case "isunplayed":
			iq.played = &no
		case "isresumable":
			iq.resumable = true
		case "isfavorite":
			iq.favorite = &yes
		case "isfolder":
			iq.folder = &yes
		case "isnotfolder":
			iq.folder = &no
		}
	}
	if b, err := parseBoolParam(q, "IsPlayed"); err != nil {
		return nil, err
	} else if b != nil {
		iq.played = b
	}
	if b, err := parseBoolParam(q, "IsFavorite"); err != nil {
		return nil, err
	} else if b != nil {
		iq.favorite = b
	}
	for _, p := range []struct {
		name string
		dst  **time.Time
	}{{"MinDateLastSaved", &iq.minSaved}, {"MinDateLastSavedForUser", &iq.minSavedUser}} {
		if v := q.get(p.name); v != "" {
			t, ok := parseISODate(v)
			if !ok {
				return nil, badParam(p.name, v, "use an ISO-8601 date such as 2024-05-01T00:00:00Z")
			}
			*p.dst = &t
		}
	}
	if q.has("Ids") {
		iq.ids = []int32{}
		for _, id := range q.list("Ids") {
			idx, ok, wellFormed := s.parseItemID(id)
			if !wellFormed && s.cfg.Flavor == Jellyfin {
				return nil, badParam("ids", id, "use item ids (32 hex digits)")
			}
			if ok {
				iq.ids = append(iq.ids, idx)
			}
		}
	}
	// AnyProviderIdEquals is an Emby API parameter. Jellyfin's GetItems has no such
	// parameter (absent from the 10.9-12.0 specs; only InternalItemsQuery has it), and
	// ASP.NET ignores unknown query parameters, so a real Jellyfin returns the unfiltered
	// list. The fake does the same.
	if s.cfg.Flavor == Emby {
		for _, pair := range q.list("AnyProviderIdEquals") {
			k, v, ok := strings.Cut(pair, ".")
			if !ok || k == "" || v == "" {
				return nil, badParam("AnyProviderIdEquals", pair, "use provider.id pairs such as imdb.tt0111161")
			}
			iq.anyProvider = append(iq.anyProvider, kv{k, v})
		}
	}
	sortBy, orders := q.list("SortBy"), q.list("SortOrder")
	for i, f := range sortBy {
		lf := strings.ToLower(f)
		if !sortFields[lf] {
			if s.cfg.Flavor == Jellyfin {
				return nil, badParam("sortBy", f, "use ItemSortBy names such as SortName, DateCreated, DatePlayed")
			}
			continue // ServiceStack-era Emby ignores sort names it does not know
		}
		key := sortKey{field: lf}
		o := ""
		switch {
		case i < len(orders):
			o = orders[i]
		case len(orders) > 0:
			o = orders[len(orders)-1]
		}
		switch strings.ToLower(o) {
		case "", "ascending":
		case "descending":
			key.desc = true
		default:
			return nil, badParam("sortOrder", o, "use Ascending or Descending")
		}
		iq.sort = append(iq.sort, key)
	}
	var err error
	if iq.start, err = parseIntParam(q, "StartIndex", 0); err != nil {
		return nil, err
	}
	if iq.limit, err = parseIntParam(q, "Limit", -1); err != nil {
		return nil, err
	}
	// Jellyfin before 10.11 built MinDateLastSaved's SQL clause with the parameter name of
	// MinDateLastSavedForUser, so sending MinDateLastSaved alone failed with "Must add values
	// for the following parameters: @MinDateLastSavedForUser" (measured on 10.10.7 by a
	// third-party client); the open-source Emby code had the same bug.
	if iq.minSaved != nil && iq.minSavedUser == nil {
		if (s.cfg.Flavor == Jellyfin && !s.ver.atLeast(jellyfin1011)) || (s.cfg.Flavor == Emby && !s.ver.atLeast(emby4223)) {
			return nil, errSQLParam
		}
	}
	return iq, nil
}

var errSQLParam = fmt.Errorf("SQL logic error: Must add values for the following parameters: @MinDateLastSavedForUser")

func knownJellyfinKind(t string) bool {
	switch strings.ToLower(t) {
	case "aggregatefolder", "audio", "audiobook", "basepluginfolder", "book", "boxset", "channel",
		"channelfolderitem", "collectionfolder", "episode", "folder", "genre", "manualplaylistsfolder",
		"movie", "livetvchannel", "livetvprogram", "musicalbum", "musicartist", "musicgenre",
		"musicvideo", "person", "photo", "photoalbum", "playlist", "playlistsfolder", "program",
		"recording", "season", "series", "studio", "trailer", "tvchannel", "tvprogram", "uservideo",
		"userrootfolder", "userview", "video", "year":
		return true
	}
	return false
}

// match applies the per-item filters; the caller holds s.mu.
func (s *Server) match(iq *itemQuery, idx int32) bool {
	k := s.kindOf(idx)
	if iq.include != 0 && iq.include&(1<<k) == 0 {
		return false
	}
	if iq.exclude&(1<<k) != 0 {
		return false
	}
	if iq.folder != nil && k.isFolder() != *iq.folder {
		return false
	}
	needItem := iq.minSaved != nil || iq.minSavedUser != nil || len(iq.anyProvider) > 0
	var rec itemRec
	if needItem {
		rec, _ = s.item(idx)
		if iq.minSaved != nil && rec.lastSaved.Before(*iq.minSaved) {
			return false
		}
		if iq.minSavedUser != nil {
			ok := !rec.lastSaved.Before(*iq.minSavedUser)
			if !ok && s.cfg.Flavor == Emby && s.ver.atLeast(emby4223) && iq.user >= 0 {
				d := s.getUserData(iq.user, idx)
				ok = !d.saved.IsZero() && !d.saved.Before(*iq.minSavedUser)
			}
			if !ok {
				return false
			}
		}
		if len(iq.anyProvider) > 0 {
			found := false
			for _, want := range iq.anyProvider {
				if v := providerValue(rec.providers, want.key); v != "" && strings.EqualFold(v, want.val) {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
	}
	// User-data filters need a user. Without one (an API key and no userId) the server has
	// no user data to filter on; the fake ignores them, as it omits UserData.
	if iq.user >= 0 && (iq.played != nil || iq.resumable || iq.favorite != nil) {
		var played bool
		var d userData
		if k.isVideo() {
			d = s.getUserData(iq.user, idx)
			played = d.played
		} else if k == kindSeries || k == kindSeason {
			unplayed, total := s.folderCounts(iq.user, idx)
			played = total > 0 && unplayed == 0
		}
		if iq.played != nil && played != *iq.played {
			return false
		}
		if iq.resumable && d.position <= 0 {
			return false
		}
		if iq.favorite != nil && d.favorite != *iq.favorite {
			return false
		}
	}
	return true
}

// run executes a query: it returns the page of item indexes and the total match count.
// The caller holds s.mu for reading.
func (s *Server) run(iq *itemQuery) (page []int32, total int) {
	visit := func(fn func(int32) bool) {
		switch {
		case iq.ids != nil:
			ids := append([]int32(nil), iq.ids...)
			sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
			for i, id := range ids {
				if i > 0 && ids[i-1] == id {
					continue
				}
				if iq.parent >= 0 && !s.isDescendant(id, iq.parent) {
					continue
				}
				if !fn(id) {
					return
				}
			}
		case iq.parent == -2:
		case iq.parent >= 0 && iq.parent < viewCount && iq.recursive:
			// A library, recursively: its items in index order (series, then seasons,
			// then episodes), as a library-wide query returns them.
			s.forEachLibraryItem(func(idx int32) bool {
				if s.viewOf(idx) != iq.parent {
					return true
				}
				return fn(idx)
			})
		case iq.parent >= 0 && iq.recursive:
			s.forEachDescendant(iq.parent, fn)
		case iq.parent >= 0:
			s.forEachChild(iq.parent, fn)
		case iq.recursive:
			s.forEachLibraryItem(fn)
		default:
			// The user's root folder: its children are the libraries.
			for v := int32(0); v < viewCount; v++ {
				if !fn(v) {
					return
				}
			}
		}
	}
	end := -1
	if iq.limit >= 0 {
		end = iq.start + iq.limit
	}
	if page, total, ok := s.runByKind(iq, end); ok {
		return page, total
	}
	if len(iq.sort) == 0 {
		// Index order: one pass, no slice of the whole library.
		visit(func(idx int32) bool {
			if !s.match(iq, idx) {
				return true
			}
			if total >= iq.start && (end < 0 || total < end) {
				page = append(page, idx)
			}
			total++
			return true
		})
		return page, total
	}
	var all []int32
	visit(func(idx int32) bool {
		if s.match(iq, idx) {
			all = append(all, idx)
		}
		return true
	})
	s.sortItems(iq, all)
	total = len(all)
	if iq.start >= total {
		return nil, total
	}
	if end < 0 || end > total {
		end = total
	}
	return all[iq.start:end], total
}

// sortItems orders by the requested keys, then by index so pages are stable. Nulls sort
// first ascending and last descending, as SQLite orders them.
func (s *Server) sortItems(iq *itemQuery, all []int32) {
	type keyed struct {
		idx  int32
		keys []sortVal
	}
	ks := make([]keyed, len(all))
	for i, idx := range all {
		ks[i] = keyed{idx: idx, keys: s.sortValues(iq, idx)}
	}
	sort.SliceStable(ks, func(a, b int) bool {
		for i, k := range iq.sort {
			c := ks[a].keys[i].compare(ks[b].keys[i])
			if c == 0 {
				continue
			}
			if k.desc {
				return c > 0
			}
			return c < 0
		}
		return ks[a].idx < ks[b].idx
	})
	for i := range ks {
		all[i] = ks[i].idx
	}
}

type sortVal struct {
	null bool
	n    int64
	s    string
}

func (a sortVal) compare(b sortVal) int {
	switch {
	case a.null && b.null:
		return 0
	case a.null:
		return -1
	case b.null:
		return 1
	case a.n != b.n:
		if a.n < b.n {
			return -1
		}
		return 1
	}
	return strings.Compare(a.s, b.s)
}

func (s *Server) sortValues(iq *itemQuery, idx int32) []sortVal {
	out := make([]sortVal, len(iq.sort))
	var rec itemRec
	built := false
	get := func() itemRec {
		if !built {
			rec, _ = s.item(idx)
			built = true
		}
		return rec
	}
	for i, k := range iq.sort {
		switch k.field {
		case "sortname", "name":
			out[i] = sortVal{s: strings.ToLower(get().name)}
		case "datecreated", "datelastcontentadded":
			out[i] = sortVal{n: get().created.UnixNano()}
		case "premieredate":
			if p := get().premiere; !p.IsZero() {
				out[i] = sortVal{n: p.UnixNano()}
			} else {
				out[i] = sortVal{null: true}
			}
		case "productionyear":
			out[i] = sortVal{n: int64(get().year)}
		case "runtime":
			out[i] = sortVal{n: get().runTicks}
		case "dateplayed", "playcount":
			if iq.user < 0 {
				out[i] = sortVal{null: true}
				continue
			}
			d := s.getUserData(iq.user, idx)
			if k.field == "playcount" {
				out[i] = sortVal{n: int64(d.playCount)}
			} else if d.lastPlay.IsZero() {
				out[i] = sortVal{null: true}
			} else {
				out[i] = sortVal{n: d.lastPlay.UnixNano()}
			}
		}
	}
	return out
}

// viewOf is the library an item lives in.
func (s *Server) viewOf(idx int32) int32 {
	l := &s.layout
	switch {
	case idx < viewCount:
		return -1
	case idx < l.seriesStart:
		return viewMovies
	case idx < l.generated:
		return viewShows
	}
	return s.added[idx-l.generated].view
}

// runByKind answers the import's query shape (a recursive listing of the library or of one
// library, filtered only by item type, unsorted) from the index layout: generated items of
// one kind are a contiguous index range, so the page and the total are arithmetic, not a
// walk over 100k items per page. It must return exactly what the general path returns;
// TestKindFastPathAgrees checks that. ok is false for any other query.
func (s *Server) runByKind(iq *itemQuery, end int) (page []int32, total int, ok bool) {
	if s.noFastPath || !iq.recursive || iq.ids != nil || len(iq.sort) > 0 || iq.minSaved != nil || iq.minSavedUser != nil || len(iq.anyProvider) > 0 {
		return nil, 0, false
	}
	if iq.user >= 0 && (iq.played != nil || iq.resumable || iq.favorite != nil) {
		return nil, 0, false
	}
	if iq.parent != -1 && (iq.parent < 0 || iq.parent >= viewCount) {
		return nil, 0, false
	}
	var mask uint8
	for k := kindMovie; k < kindCount; k++ {
		if iq.include != 0 && iq.include&(1<<k) == 0 || iq.exclude&(1<<k) != 0 {
			continue
		}
		if iq.folder != nil && k.isFolder() != *iq.folder {
			continue
		}
		mask |= 1 << k
	}
	switch iq.parent {
	case viewMovies:
		mask &= 1 << kindMovie
	case viewShows:
		mask &= 1<<kindSeries | 1<<kindSeason | 1<<kindEpisode
	case viewMusic:
		mask = 0
	}
	l := &s.layout
	take := func(lo, hi int32) {
		n := int(hi - lo)
		if n <= 0 {
			return
		}
		from, to := total, total+n // this range's positions in the result
		a, b := max(from, iq.start), to
		if end >= 0 {
			b = min(b, end)
		}
		for p := a; p < b; p++ {
			page = append(page, lo+int32(p-from))
		}
		total += n
	}
	for _, r := range []struct {
		k      kind
		lo, hi int32
	}{{kindMovie, l.movieStart, l.seriesStart}, {kindSeries, l.seriesStart, l.seasonStart}, {kindSeason, l.seasonStart, l.episodeStart}, {kindEpisode, l.episodeStart, l.generated}} {
		if mask&(1<<r.k) != 0 {
			take(r.lo, r.hi)
		}
	}
	for i, a := range s.added {
		if mask&(1<<a.kind) == 0 || (iq.parent >= 0 && a.view != iq.parent) {
			continue
		}
		idx := l.generated + int32(i)
		take(idx, idx+1)
	}
	return page, total, true
}
