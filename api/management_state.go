package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/keepwatch/keepwatch/core/model"
	"github.com/keepwatch/keepwatch/core/store"
)

// Item is a record's movie or episode. Durations are whole seconds.
type Item struct {
	Kind            string       `json:"kind"`
	Title           string       `json:"title,omitempty"`
	Year            int          `json:"year,omitempty"`
	GUIDs           []model.GUID `json:"guids,omitempty"`
	ShowTitle       string       `json:"show_title,omitempty"`
	ShowGUIDs       []model.GUID `json:"show_guids,omitempty"`
	Season          int          `json:"season,omitempty"`
	Episode         int          `json:"episode,omitempty"`
	DurationSeconds int64        `json:"duration_seconds,omitempty"`
}

// PlayState is watched or not, when last played, and the resume position.
type PlayState struct {
	Watched         bool      `json:"watched"`
	PlayedAt        time.Time `json:"played_at,omitzero"`
	ProgressSeconds int64     `json:"progress_seconds"`
}

// Base is what keepwatch last saw on, or wrote to, one backend.
type Base struct {
	PlayState
	SeenAt  time.Time `json:"seen_at"`
	Written bool      `json:"written"`
}

// Record is keepwatch's truth for one (user, item). Bases and Journal are
// filled by GET /state/{id} only.
type Record struct {
	ID   uint64 `json:"id"`
	User string `json:"user"`
	Item Item   `json:"item"`
	PlayState
	UpdatedAt time.Time            `json:"updated_at,omitzero"`
	ChangedAt time.Time            `json:"changed_at,omitzero"`
	ChangedBy string               `json:"changed_by,omitempty"`
	Refs      map[string]model.Ref `json:"refs"`
	// Absent: backends that were found to lack the item, and when; no write
	// goes to them until they report it or a day has passed.
	Absent  map[string]time.Time `json:"absent,omitempty"`
	Bases   map[string]Base      `json:"bases,omitempty"`
	Journal []Event              `json:"journal,omitempty"`
}

// Event is one journal entry about a record.
type Event struct {
	Origin  model.Origin `json:"origin"`
	At      time.Time    `json:"at"`
	Kind    string       `json:"kind"`
	Backend string       `json:"backend,omitempty"`
	Before  *PlayState   `json:"before,omitempty"`
	After   *PlayState   `json:"after,omitempty"`
	Reason  string       `json:"reason,omitempty"`
	DryRun  bool         `json:"dry_run,omitempty"`
}

// StatePage is one page of GET /state. Next, when present, is the after
// value that fetches the following page.
type StatePage struct {
	Records []Record `json:"records"`
	Next    uint64   `json:"next,omitempty"`
}

// MarkRequest is the body of POST /state/{id}/mark.
type MarkRequest struct {
	Watched *bool `json:"watched"`
}

// MarkResult is the record after a mark, and the run that journaled it
// (undo it with POST /runs/{id}/undo).
type MarkResult struct {
	Record Record     `json:"record"`
	Run    *store.Run `json:"run"`
}

func playState(s model.State) PlayState {
	return PlayState{Watched: s.Watched, PlayedAt: s.PlayedAt, ProgressSeconds: int64(s.Progress / time.Second)}
}

func recordView(r *model.Record) Record {
	it := r.Item
	v := Record{ID: r.ID, User: r.User, PlayState: playState(r.State),
		Item: Item{Kind: string(it.Kind), Title: it.Title, Year: it.Year, GUIDs: it.GUIDs, ShowTitle: it.ShowTitle,
			ShowGUIDs: it.ShowGUIDs, Season: it.Season, Episode: it.Episode, DurationSeconds: int64(it.Duration / time.Second)},
		UpdatedAt: r.UpdatedAt, ChangedAt: r.ChangedAt, ChangedBy: r.ChangedBy, Refs: r.Refs, Absent: r.Absent}
	if v.Refs == nil {
		v.Refs = map[string]model.Ref{}
	}
	return v
}

// Paging of GET /state: filters are applied while walking records in id
// order, and one request walks at most stateScanLimit records, so a filter
// that matches little cannot make a request read the whole database; the
// answer's next cursor continues the walk.
const (
	stateDefaultLimit = 100
	stateMaxLimit     = 1000
	stateScanLimit    = 10000
	statePage         = 500
)

func (m *Management) listState(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, err := queryLimit(r, stateDefaultLimit, stateMaxLimit)
	if err != nil {
		return err
	}
	var after uint64
	if raw := q.Get("after"); raw != "" {
		if after, err = strconv.ParseUint(raw, 10, 64); err != nil {
			return badRequest("after %q is not a record id (pass the next value of the previous page)", raw)
		}
	}
	var watched *bool
	if raw := q.Get("watched"); raw != "" {
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return badRequest("watched %q is not true or false (leave it out for both)", raw)
		}
		watched = &b
	}
	user, backend := q.Get("user"), q.Get("backend")
	if user != "" {
		if err := m.knownUser("user", user, false); err != nil {
			return err
		}
	}
	if backend != "" {
		if _, err := m.knownBackend("backend", backend); err != nil {
			return err
		}
	}
	keep := func(rec *model.Record) bool {
		if user != "" && rec.User != user {
			return false
		}
		if watched != nil && rec.Watched != *watched {
			return false
		}
		if backend != "" {
			if _, ok := rec.Refs[backend]; !ok {
				return false
			}
		}
		return true
	}

	out := StatePage{Records: []Record{}}
	cursor, scanned, atEnd := after, 0, false
	for !atEnd && len(out.Records) < limit && scanned < stateScanLimit {
		page, err := m.deps.Store.RecordsAfter(cursor, statePage)
		if err != nil {
			return err
		}
		used := 0
		for _, rec := range page {
			used++
			cursor, scanned = rec.ID, scanned+1
			if keep(rec) {
				out.Records = append(out.Records, recordView(rec))
				if len(out.Records) == limit {
					break
				}
			}
		}
		atEnd = len(page) < statePage && used == len(page)
	}
	if !atEnd {
		more, err := m.deps.Store.RecordsAfter(cursor, 1)
		if err != nil {
			return err
		}
		if len(more) > 0 {
			out.Next = cursor
		}
	}
	return ok(w, r, out)
}

// record returns record id or a 404.
func (m *Management) record(id uint64) (*model.Record, error) {
	recs, err := m.deps.Store.RecordsAfter(id-1, 1)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 || recs[0].ID != id {
		return nil, notFound("record %d does not exist (list records with GET %s/state)", id, APIPrefix)
	}
	return recs[0], nil
}

// journalMax bounds the history GET /state/{id} shows: the newest entries.
const journalMax = 50

func (m *Management) showState(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "record")
	if err != nil {
		return err
	}
	rec, err := m.record(id)
	if err != nil {
		return err
	}
	v := recordView(rec)
	v.Bases = map[string]Base{}
	for name, b := range rec.Bases {
		v.Bases[name] = Base{PlayState: playState(b.State), SeenAt: b.SeenAt, Written: b.Written}
	}
	if v.Journal, err = m.recordJournal(rec); err != nil {
		return err
	}
	return ok(w, r, v)
}

func (m *Management) recordJournal(rec *model.Record) ([]Event, error) {
	evs, err := m.deps.Store.RecordJournal(rec.ID, journalMax)
	if err != nil {
		return nil, err
	}
	out := make([]Event, 0, len(evs))
	for _, ev := range evs {
		e := Event{Origin: ev.Origin, At: ev.At, Kind: string(ev.Kind), Backend: ev.Backend, Reason: ev.Reason, DryRun: ev.DryRun}
		if ev.Before != nil {
			s := playState(*ev.Before)
			e.Before = &s
		}
		if ev.After != nil {
			s := playState(*ev.After)
			e.After = &s
		}
		out = append(out, e)
	}
	return out, nil
}

func (m *Management) markState(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "record")
	if err != nil {
		return err
	}
	var req MarkRequest
	if err := decodeBody(r, &req, false); err != nil {
		return err
	}
	if req.Watched == nil {
		return badRequest(`body field "watched" is required: true to mark watched, false to mark unwatched`)
	}
	rec, run, err := m.deps.Engine.Mark(r.Context(), id, *req.Watched)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("record %d does not exist (list records with GET %s/state)", id, APIPrefix)
	}
	if err != nil {
		return err
	}
	return ok(w, r, MarkResult{Record: recordView(rec), Run: run})
}
