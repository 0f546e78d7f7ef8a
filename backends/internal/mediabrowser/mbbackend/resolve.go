package mbbackend

import (
	"context"
	"slices"

	"github.com/keepwatch/keepwatch/backends/internal/mediabrowser/client"
	"github.com/keepwatch/keepwatch/plugins"
	"github.com/keepwatch/keepwatch/plugins/guids"
)

// Resolve finds item ids by GUID; see the package documentation for why it sweeps instead of
// filtering with AnyProviderIdEquals.
func (b *Backend) Resolve(ctx context.Context, req plugins.ResolveRequest) ([]plugins.Resolution, error) {
	cf, err := b.current()
	if err != nil {
		return nil, err
	}
	r := &resolver{c: cf.c, user: req.AccountID, limit: cf.pageSize, qs: req.Queries, out: make([]plugins.Resolution, len(req.Queries))}
	libs := []client.Item{{}} // no account: the whole server, without library names
	if req.AccountID != "" {
		views, err := cf.c.Views(ctx, req.AccountID)
		if err != nil {
			return nil, b.errorf("resolve: list libraries of account "+req.AccountID, err)
		}
		libs = Libraries(views, plugins.LibraryFilter{})
	}
	for _, lib := range libs {
		if r.left(plugins.KindMovie, false) > 0 {
			if err := r.movies(ctx, lib); err != nil {
				return nil, b.errorf("resolve movies", err)
			}
		}
		if r.left(plugins.KindEpisode, false) > 0 {
			if err := r.episodes(ctx, lib); err != nil {
				return nil, b.errorf("resolve episodes", err)
			}
		}
	}
	return r.out, nil
}

type resolver struct {
	c     *client.Client
	user  string
	limit int
	qs    []plugins.ResolveQuery
	out   []plugins.Resolution

	indexed bool
	movie   map[string][]int // movie GUID → queries
	own     map[string][]int // episode's own GUID → queries
	show    map[string][]int // show GUID → episode queries
	open    map[plugins.ItemKind]int
	openOwn int // open episode queries with own GUIDs
}

func (r *resolver) index() {
	if r.indexed {
		return
	}
	r.indexed = true
	r.movie, r.own, r.show, r.open = map[string][]int{}, map[string][]int{}, map[string][]int{}, map[plugins.ItemKind]int{}
	for i, q := range r.qs {
		switch q.Kind {
		case plugins.KindMovie:
			for _, g := range q.GUIDs {
				r.movie[g] = append(r.movie[g], i)
			}
		case plugins.KindEpisode:
			for _, g := range q.GUIDs {
				r.own[g] = append(r.own[g], i)
			}
			for _, g := range q.ShowGUIDs {
				r.show[g] = append(r.show[g], i)
			}
			if len(q.GUIDs) > 0 {
				r.openOwn++
			}
		default:
			continue
		}
		r.open[q.Kind]++
	}
}

// left counts the unanswered queries of a kind (with own GUIDs only, when ownOnly).
func (r *resolver) left(kind plugins.ItemKind, ownOnly bool) int {
	r.index()
	if ownOnly {
		return r.openOwn
	}
	return r.open[kind]
}

func (r *resolver) found(i int, lib client.Item, id string) {
	if r.out[i].Found() {
		return
	}
	r.out[i] = plugins.Resolution{ItemID: id, LibraryID: lib.ID, LibraryName: lib.Name}
	q := r.qs[i]
	r.open[q.Kind]--
	if q.Kind == plugins.KindEpisode && len(q.GUIDs) > 0 {
		r.openOwn--
	}
}

// sweep pages through items of one type reading ProviderIds only, until fn says stop.
func (r *resolver) sweep(ctx context.Context, q client.Query, fn func(it *client.Item, gs []string) (stop bool)) error {
	q.Fields, q.NoUserData, q.Limit = []string{"ProviderIds"}, true, r.limit
	return r.c.EachPage(ctx, r.user, q, func(p client.Page) (bool, error) {
		for i := range p.Items {
			if fn(&p.Items[i], guids.FromProviderIDs(p.Items[i].ProviderIDs)) {
				return true, nil
			}
		}
		return false, nil
	})
}

// matchAll answers every open query that idx lists for one of gs.
func (r *resolver) matchAll(idx map[string][]int, gs []string, lib client.Item, id string) {
	for _, g := range gs {
		for _, i := range idx[g] {
			r.found(i, lib, id)
		}
	}
}

func (r *resolver) movies(ctx context.Context, lib client.Item) error {
	return r.sweep(ctx, client.Query{ParentID: lib.ID, Types: []string{"Movie"}}, func(it *client.Item, gs []string) bool {
		r.matchAll(r.movie, gs, lib, it.ID)
		return r.open[plugins.KindMovie] == 0
	})
}

// episodes matches the series first (a show GUID), then reads the matched series'
// episodes; queries still open that name the episode's own GUIDs get a sweep of the
// library's episodes.
func (r *resolver) episodes(ctx context.Context, lib client.Item) error {
	var series []string
	matched := map[string][]int{}
	if len(r.show) > 0 {
		if err := r.sweep(ctx, client.Query{ParentID: lib.ID, Types: []string{"Series"}}, func(it *client.Item, gs []string) bool {
			for _, g := range gs {
				for _, i := range r.show[g] {
					if r.out[i].Found() || slices.Contains(matched[it.ID], i) {
						continue
					}
					if matched[it.ID] == nil {
						series = append(series, it.ID)
					}
					matched[it.ID] = append(matched[it.ID], i)
				}
			}
			return false
		}); err != nil {
			return err
		}
	}
	for _, sid := range series {
		idx := matched[sid]
		if err := r.sweep(ctx, client.Query{ParentID: sid, Types: []string{"Episode"}}, func(it *client.Item, gs []string) bool {
			open := 0
			for _, i := range idx {
				q := r.qs[i]
				if r.out[i].Found() {
					continue
				}
				if overlaps(q.GUIDs, gs) || (q.Season == it.ParentIndexNumber && q.Episode == it.IndexNumber) {
					r.found(i, lib, it.ID)
					continue
				}
				open++
			}
			return open == 0
		}); err != nil {
			return err
		}
	}
	if r.openOwn == 0 {
		return nil
	}
	return r.sweep(ctx, client.Query{ParentID: lib.ID, Types: []string{"Episode"}}, func(it *client.Item, gs []string) bool {
		r.matchAll(r.own, gs, lib, it.ID)
		return r.openOwn == 0
	})
}

func overlaps(a, b []string) bool {
	for _, g := range a {
		if slices.Contains(b, g) {
			return true
		}
	}
	return false
}
