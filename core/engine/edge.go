package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/keepwatch/keepwatch/core/model"
	"github.com/keepwatch/keepwatch/plugins"
)

// This file is the engine's edge with the plugin contract: plugin types are
// converted to the model here and nowhere else, so the rest of the engine
// speaks only core/model.

// FromPlugin converts one plugin observation into the model. Backend and User
// are left for the caller (the import run or the inbox processor knows them).
// GUIDs not in the normalised source:id form are dropped, one by one: a bad
// id from one server must not hide the good ones; invalid counts them.
func FromPlugin(o plugins.Observation) (obs model.Observation, invalid int) {
	guids, bad := checkGUIDs(o.GUIDs)
	showGUIDs, badShow := checkGUIDs(o.ShowGUIDs)
	library := o.LibraryName
	if library == "" {
		library = o.LibraryID
	}
	s := o.State
	return model.Observation{
		Account:  o.AccountID,
		RemoteID: o.ItemID,
		Library:  library,
		Item: model.Item{
			Kind: model.Kind(o.Kind), Title: o.Title, Year: o.Year, GUIDs: guids,
			ShowTitle: o.ShowTitle, ShowGUIDs: showGUIDs, Season: o.Season, Episode: o.Episode,
			Duration: o.Duration,
		},
		HasWatched: s.WatchedKnown, Watched: s.Watched, PlayedAt: s.PlayedAt,
		HasProgress: s.ProgressKnown, Progress: s.Progress,
		EventAt: s.EventAt, InferCompletion: s.InferCompletion, Playing: s.Playing,
	}, bad + badShow
}

func checkGUIDs(in []string) ([]model.GUID, int) {
	if len(in) == 0 {
		return nil, 0
	}
	out := make([]model.GUID, 0, len(in))
	bad := 0
	for _, s := range in {
		g, err := model.CheckGUID(s)
		if err != nil {
			bad++
			continue
		}
		out = append(out, g)
	}
	return out, bad
}

// PluginSource reads a backend's observations through its plugin.
type PluginSource struct {
	Importer  plugins.Importer
	Libraries plugins.LibraryFilter
	PageSize  int
}

// Import implements Source.
func (s PluginSource) Import(ctx context.Context, req ImportRequest, page func([]model.Observation) error) error {
	preq := plugins.ImportRequest{AccountID: req.Account, Since: req.Since, Libraries: s.Libraries, PageSize: s.PageSize}
	var buf []model.Observation
	return s.Importer.Import(ctx, preq, func(p []plugins.Observation) error {
		// The engine keeps nothing of a page after Apply returns, so one
		// buffer serves every page.
		buf = buf[:0]
		for _, o := range p {
			m, _ := FromPlugin(o)
			buf = append(buf, m)
		}
		return page(buf)
	})
}

// PluginWriter writes to one backend through its plugin: it resolves items
// the backend never reported (when it can), turns each Write into the
// plugin's watched/unwatched/progress writes and folds their outcomes back.
type PluginWriter struct {
	Exporter plugins.Exporter
	// Resolver finds items by GUID; nil when the backend cannot.
	Resolver plugins.Resolver
}

// errNotOnBackend is the permanent failure of a write to an item the backend
// does not have: nothing to write to until it reports the item.
var errNotOnBackend = errors.New("item not found on the backend")

// Write implements Writer.
func (w PluginWriter) Write(ctx context.Context, backend string, writes []Write) ([]WriteResult, error) {
	results := make([]WriteResult, len(writes))
	remote, err := w.resolve(ctx, writes, results)
	if err != nil {
		return nil, fmt.Errorf("engine: resolve items on %s: %w", backend, err)
	}
	var pw []plugins.Write
	var owner []int // owner[i] is the index in writes of pw[i]
	for i, wr := range writes {
		if results[i].Err != nil {
			continue
		}
		base := plugins.Write{AccountID: wr.Account, ItemID: remote[i], Duration: wr.Item.Duration}
		if wr.SetWatched {
			p := base
			if wr.State.Watched {
				p.Kind, p.PlayedAt = plugins.WriteWatched, wr.State.PlayedAt
			} else {
				p.Kind = plugins.WriteUnwatched
			}
			pw, owner = append(pw, p), append(owner, i)
		}
		if wr.SetProgress {
			p := base
			p.Kind, p.Progress = plugins.WriteProgress, wr.State.Progress
			pw, owner = append(pw, p), append(owner, i)
		}
	}
	if len(pw) == 0 {
		return results, nil
	}
	outcomes, err := w.Exporter.Apply(ctx, pw)
	if err != nil {
		return nil, err
	}
	if len(outcomes) != len(pw) {
		return nil, fmt.Errorf("engine: %s answered %d outcomes for %d writes", backend, len(outcomes), len(pw))
	}
	for j, oc := range outcomes {
		r := &results[owner[j]]
		r.RemoteID = remote[owner[j]]
		switch oc.Status {
		case plugins.OutcomeOK:
		case plugins.OutcomeSkippedPlaying:
			r.Skipped = true
		default:
			msg := oc.Message
			if msg == "" {
				msg = "write failed"
			}
			// Two halves of one write: the record is retried unless every
			// failed half is permanent.
			r.Permanent = (r.Err == nil || r.Permanent) && oc.Permanent
			r.Err = errors.Join(r.Err, errors.New(msg))
		}
	}
	return results, nil
}

// resolve answers the remote id of every write, asking the plugin for the
// ones the backend never reported, one request per account (what a user may
// see differs: a Plex user's libraries are restricted). Writes that cannot
// be resolved get a permanent failure in results, marked Absent.
func (w PluginWriter) resolve(ctx context.Context, writes []Write, results []WriteResult) ([]string, error) {
	remote := make([]string, len(writes))
	byAccount := map[string][]int{} // account → indexes of its writes without a remote id
	var accounts []string
	for i, wr := range writes {
		remote[i] = wr.RemoteID
		if wr.RemoteID != "" {
			continue
		}
		if w.Resolver == nil {
			results[i] = WriteResult{Err: errNotOnBackend, Permanent: true, Absent: true}
			continue
		}
		if _, ok := byAccount[wr.Account]; !ok {
			accounts = append(accounts, wr.Account)
		}
		byAccount[wr.Account] = append(byAccount[wr.Account], i)
	}
	for _, account := range accounts {
		idx := byAccount[account]
		queries := make([]plugins.ResolveQuery, len(idx))
		for j, i := range idx {
			it := writes[i].Item
			queries[j] = plugins.ResolveQuery{Kind: plugins.ItemKind(it.Kind), GUIDs: guidStrings(it.GUIDs),
				ShowGUIDs: guidStrings(it.ShowGUIDs), Season: it.Season, Episode: it.Episode, Title: it.Title, Year: it.Year}
		}
		res, err := w.Resolver.Resolve(ctx, plugins.ResolveRequest{AccountID: account, Queries: queries})
		if errors.Is(err, plugins.ErrUnsupported) {
			for _, i := range idx {
				results[i] = WriteResult{Err: errNotOnBackend, Permanent: true, Absent: true}
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		if len(res) != len(queries) {
			return nil, fmt.Errorf("answered %d resolutions for %d queries", len(res), len(queries))
		}
		for j, i := range idx {
			if !res[j].Found() {
				results[i] = WriteResult{Err: fmt.Errorf("%w (%s)", errNotOnBackend, describe(writes[i].Item)), Permanent: true, Absent: true}
				continue
			}
			remote[i] = res[j].ItemID
		}
	}
	return remote, nil
}

func guidStrings(gs []model.GUID) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = string(g)
	}
	return out
}

func describe(it model.Item) string {
	var b strings.Builder
	b.WriteString(it.Title)
	if it.Kind == model.KindEpisode {
		fmt.Fprintf(&b, " %s S%02dE%02d", it.ShowTitle, it.Season, it.Episode)
	}
	return b.String()
}
