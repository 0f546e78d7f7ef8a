package model

import (
	"strings"
	"time"
	"unicode"
)

// Kind says what an item is. keepwatch syncs movies and episodes only.
type Kind string

// Item kinds.
const (
	KindMovie   Kind = "movie"
	KindEpisode Kind = "episode"
)

// Item identifies a movie or an episode across servers. For an episode, GUIDs
// are the episode's own ids and ShowGUIDs its show's; Season and Episode number
// it within the show.
type Item struct {
	Kind      Kind          `json:"kind"`
	Title     string        `json:"title,omitempty"`
	Year      int           `json:"year,omitempty"`
	GUIDs     []GUID        `json:"guids,omitempty"`
	ShowTitle string        `json:"show_title,omitempty"`
	ShowGUIDs []GUID        `json:"show_guids,omitempty"`
	Season    int           `json:"season,omitempty"`
	Episode   int           `json:"episode,omitempty"`
	Duration  time.Duration `json:"duration,omitempty"`
}

// RelativeGUIDs returns one relative GUID per show GUID for an episode with a
// season and episode number, nil otherwise.
func (it Item) RelativeGUIDs() []RelativeGUID {
	if it.Kind != KindEpisode || it.Episode <= 0 {
		return nil
	}
	out := make([]RelativeGUID, 0, len(it.ShowGUIDs))
	for _, g := range it.ShowGUIDs {
		out = append(out, NewRelativeGUID(g, it.Season, it.Episode))
	}
	return out
}

// TitleKey returns the optional title+year match key ("movie:fight club/1999",
// "episode:the wire/1/1"), or "" when the item lacks what the key needs. Titles
// are folded to lower-case letters and digits so punctuation and spacing
// differences between servers do not matter.
func (it Item) TitleKey() string {
	switch it.Kind {
	case KindMovie:
		if it.Title == "" || it.Year == 0 {
			return ""
		}
		return "movie:" + foldTitle(it.Title) + "/" + itoa(it.Year)
	case KindEpisode:
		if it.ShowTitle == "" || it.Episode <= 0 {
			return ""
		}
		return "episode:" + foldTitle(it.ShowTitle) + "/" + itoa(it.Season) + "/" + itoa(it.Episode)
	}
	return ""
}

func foldTitle(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToLower(s) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		default:
			space = true
		}
	}
	return b.String()
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var buf [20]byte
	i := len(buf)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		buf[i] = '-'
	}
	return string(buf[i:])
}

// State is the play state of one item for one user: watched or not, when it
// was last played (zero when unknown), and the resume position.
type State struct {
	Watched  bool          `json:"watched"`
	PlayedAt time.Time     `json:"played_at,omitzero"`
	Progress time.Duration `json:"progress,omitempty"`
}

// Ref is where an item lives on one backend.
type Ref struct {
	RemoteID string `json:"remote_id"`
	Library  string `json:"library,omitempty"`
}

// Base is, per record and backend, the last state keepwatch saw on, or wrote
// to, that backend. It is the common ancestor of the three-way merge.
// WatchedKnown and ProgressKnown say which halves were ever observed: a
// progress-only webhook tells nothing about the watched flag.
type Base struct {
	State
	WatchedKnown  bool      `json:"watched_known,omitempty"`
	ProgressKnown bool      `json:"progress_known,omitempty"`
	SeenAt        time.Time `json:"seen_at"`
	Written       bool      `json:"written,omitempty"` // set by our own write rather than an observation
}

// RecordVersion is the JSON schema version of Record values.
const RecordVersion = 1

// Record is keepwatch's truth for one (user, item).
//
// UpdatedAt is the event time of the last watched-flag change when known (the
// play's date, a webhook's time); it is zero for a record created unwatched or
// changed by an event without a date. ChangedAt/ChangedBy say when keepwatch
// applied that change and from which backend: the merge's "did another backend
// change R since B was last seen" test reads them. The Progress* fields are the
// same for the resume position, which merges separately.
type Record struct {
	V    int    `json:"v"`
	ID   uint64 `json:"id"`
	User string `json:"user"`
	Item Item   `json:"item"`
	State
	UpdatedAt         time.Time       `json:"updated_at,omitzero"`
	ChangedAt         time.Time       `json:"changed_at,omitzero"`
	ChangedBy         string          `json:"changed_by,omitempty"`
	ProgressAt        time.Time       `json:"progress_at,omitzero"`
	ProgressChangedAt time.Time       `json:"progress_changed_at,omitzero"`
	ProgressBy        string          `json:"progress_by,omitempty"`
	Refs              map[string]Ref  `json:"refs,omitempty"`
	Bases             map[string]Base `json:"bases,omitempty"`
	// Absent names the backends where a lookup by GUID found no such item,
	// with when: no write is planned to them until they report the item (an
	// import, a webhook or an addition sets their ref, see SetRef) or a day
	// has passed (core/engine looks again then). Without it every import
	// would queue, and every drain look up again, each watched item a server
	// does not have.
	Absent map[string]time.Time `json:"absent,omitempty"`
}

// SetRef records where backend holds the item, which also ends its
// absence there.
func (r *Record) SetRef(backend string, ref Ref) {
	if r.Refs == nil {
		r.Refs = map[string]Ref{}
	}
	r.Refs[backend] = ref
	delete(r.Absent, backend)
	if len(r.Absent) == 0 {
		r.Absent = nil
	}
}

// Observation is what one backend said about one (account, remote item) at one
// moment: from a webhook, an import page or a write's response.
//
// HasWatched says the observation carries the watched flag (an import row, a
// completion or mark event); a play/pause/stop event carries progress only.
// PlayedAt and EventAt are the server's times (zero when unknown); ObservedAt
// is keepwatch's clock when the observation was received or fetched, used to
// recognise observations older than what keepwatch has already seen.
type Observation struct {
	Backend  string `json:"backend"`
	User     string `json:"user"`
	Account  string `json:"account,omitempty"`
	RemoteID string `json:"remote_id,omitempty"`
	Library  string `json:"library,omitempty"`
	Item     Item   `json:"item"`

	HasWatched  bool          `json:"has_watched,omitempty"`
	Watched     bool          `json:"watched,omitempty"`
	PlayedAt    time.Time     `json:"played_at,omitzero"`
	HasProgress bool          `json:"has_progress,omitempty"`
	Progress    time.Duration `json:"progress,omitempty"`

	EventAt    time.Time `json:"event_at,omitzero"`
	ObservedAt time.Time `json:"observed_at,omitzero"`
	// InferCompletion asks the engine to treat progress at or past
	// watched_percent of the duration as a completion: for sources without a
	// completion signal of their own (Tautulli).
	InferCompletion bool `json:"infer_completion,omitempty"`
	// Playing says the item is being played on the backend right now.
	Playing bool `json:"playing,omitempty"`
}

// Origin names what caused a change: an import/export run or a webhook
// delivery. Journal entries are grouped by origin so one run can be undone.
type Origin struct {
	Kind string `json:"kind"` // OriginRun, OriginDelivery or OriginPush
	ID   uint64 `json:"id"`
}

// Origin kinds.
const (
	OriginRun      = "run"
	OriginDelivery = "delivery"
	OriginPush     = "push" // the push worker, draining outboxes between runs
)

// EventKind says what a journal entry records.
type EventKind string

// Journal event kinds.
const (
	EventRecordCreated EventKind = "record.created"
	EventRecordChanged EventKind = "record.changed"
	EventWrite         EventKind = "backend.write"
	EventWriteFailed   EventKind = "backend.write_failed"
	EventHeld          EventKind = "guard.held"
	EventUndone        EventKind = "record.undone"
	EventConflict      EventKind = "match.conflict"
)

// Event is one journal entry: a change to a record or a write to a backend,
// with the previous value so it can be undone.
type Event struct {
	Origin   Origin    `json:"origin"`
	Seq      uint64    `json:"seq"`
	At       time.Time `json:"at"`
	Kind     EventKind `json:"kind"`
	RecordID uint64    `json:"record_id,omitempty"`
	User     string    `json:"user,omitempty"`
	Backend  string    `json:"backend,omitempty"`
	Before   *State    `json:"before,omitempty"`
	After    *State    `json:"after,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	DryRun   bool      `json:"dry_run,omitempty"`
}
