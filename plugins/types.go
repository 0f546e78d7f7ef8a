package plugins

import (
	"net/http"
	"time"
)

// Capability names an optional interface a backend implements.
type Capability string

// The capabilities of protocol version 1.
const (
	CapabilityWebhook Capability = "webhook" // WebhookParser
	CapabilityImport  Capability = "import"  // Importer
	CapabilityExport  Capability = "export"  // Exporter
	CapabilityResolve Capability = "resolve" // Resolver
)

// Description is what Describe answers.
type Description struct {
	// Type is the backend type a configuration names ("plex"): lower-case
	// letters, digits and dashes. An external plugin's executable is named
	// keepwatch-backend-<Type>.
	Type string
	// Version is the plugin's own version ("1.4.0").
	Version string
	// DisplayName is the name shown to people ("Plex Media Server").
	DisplayName string
	// Summary is one line about the backend.
	Summary string
	// Capabilities is filled in by the SDK from the interfaces the backend
	// implements; a backend need not set it.
	Capabilities []Capability
}

// Has reports whether d lists capability c.
func (d Description) Has(c Capability) bool {
	for _, have := range d.Capabilities {
		if have == c {
			return true
		}
	}
	return false
}

// Config is one configured backend as the host hands it over. Token is a
// secret: never log it.
type Config struct {
	// Name is the configured backend's name ("plex-home"), for messages.
	Name string
	// Type is the configured type; it equals Description.Type.
	Type string
	// URL is the server's base URL.
	URL string
	// Token is the credential (Plex token, Jellyfin/Emby API key, Tautulli
	// API key).
	Token string
	// Options are the backend-specific options of the configuration, as
	// strings.
	Options map[string]string
}

// Health is what CheckHealth answers.
type Health struct {
	// Reachable is true when the server answered and accepted the
	// credentials.
	Reachable bool
	// ServerID is the server's own identifier (Plex machineIdentifier,
	// Jellyfin/Emby System/Info Id); webhooks are matched against it.
	ServerID string
	// ServerName is the server's friendly name.
	ServerName string
	// ServerVersion is the server software's version.
	ServerVersion string
	// Detail says why the server is not reachable, or anything worth showing.
	Detail string
}

// Account is a user account on a backend.
type Account struct {
	// ID is the backend-local account id.
	ID string
	// Name is the account's name as the server shows it.
	Name string
	// Admin is true for the server's owner or administrator.
	Admin bool
}

// ItemKind says whether an item is a movie or an episode.
type ItemKind string

// Item kinds.
const (
	KindMovie   ItemKind = "movie"
	KindEpisode ItemKind = "episode"
)

// Observation is what one backend says about one (account, item) at one
// moment: a webhook event, a row of an import page.
type Observation struct {
	// AccountID and AccountName identify the backend-local account.
	AccountID   string
	AccountName string

	// ItemID is the backend's id of the item (Plex ratingKey, Jellyfin Id).
	ItemID string
	// LibraryID and LibraryName identify the library (Plex section) the
	// item is in.
	LibraryID   string
	LibraryName string

	Kind  ItemKind
	Title string
	// Year is the release year, 0 when unknown.
	Year int
	// GUIDs are the item's own external ids, normalised to source:id with a
	// lower-case source (imdb:tt0944947, tmdb:63056, tvdb:3254641,
	// plex:5d9c086c46115600200aa2fe). See NormalizeGUID.
	GUIDs []string

	// For episodes: the show's backend id, title and GUIDs, and the season
	// and episode numbers. The engine matches episodes by show GUID + season
	// + episode when the episode's own GUIDs are unknown to it.
	ShowID    string
	ShowTitle string
	ShowGUIDs []string
	Season    int
	Episode   int

	// Duration is the item's runtime, 0 when unknown.
	Duration time.Duration

	State State

	// Event is the server's name for what produced the observation
	// (media.scrobble, PlaybackStop, ...); empty for imports. It is for the
	// journal and logs only.
	Event string
}

// State is the play state of one observation. The *Known flags keep "the
// server said nothing about it" apart from "the server said no/zero": a
// pause event knows progress but not watched; an import knows both.
type State struct {
	// WatchedKnown is true when the observation carries the watched flag
	// (an import row, a completion event, a mark-played event).
	WatchedKnown bool
	Watched      bool
	// PlayedAt is when the item was last played to completion, zero when
	// unknown (an unwatched item, or a server that dropped the date).
	PlayedAt time.Time

	// ProgressKnown is true when the observation carries a resume position.
	ProgressKnown bool
	Progress      time.Duration

	// EventAt is when the server says the change happened, zero when it
	// does not say. Not the receive time: WebhookRequest.ReceivedAt has that.
	EventAt time.Time

	// InferCompletion is set by sources that never signal completion
	// (Tautulli): the engine decides watched from Progress ≥ watched_percent
	// of Duration.
	InferCompletion bool

	// Playing is true when the item is being played on the server right
	// now; the engine never writes progress to a playing item.
	Playing bool

	// PlayCount is the server's play count, 0 when unknown or unplayed.
	PlayCount int
}

// WebhookRequest is one webhook delivery as received.
type WebhookRequest struct {
	Method  string
	Headers http.Header
	// Query is the raw query string of the request URL, without the token
	// path (some senders put parameters there).
	Query string
	Body  []byte
	// ReceivedAt is when keepwatch received the delivery.
	ReceivedAt time.Time
}

// WebhookResult is what ParseWebhook answers for a well-formed delivery.
type WebhookResult struct {
	// ServerID is the sending server's id, for webhook.match_server.
	ServerID string
	// AccountID and AccountName are the acting account, for
	// webhook.match_account and backend-wide tokens.
	AccountID   string
	AccountName string
	// Event is the server's event name.
	Event string
	// Observations are what the event says; empty when Ignored.
	Observations []Observation
	// Added lists the movies and episodes the event says appeared on the
	// server (Plex library.new, Jellyfin ItemAdded, Emby library.new,
	// Tautulli created). Each describes the item only (ItemID, kind, GUIDs,
	// show, library): AccountID is empty and State is zero, since an
	// addition is nobody's play. The engine points every user's matching
	// record at the new item and writes their state to it. Empty when
	// Ignored; a delivery may carry Added without Observations.
	Added []Observation
	// Ignored, when not empty, says why the delivery carries nothing to sync
	// ("test notification", "library.new has no user").
	Ignored string
}

// LibraryFilter selects libraries by name or id. An empty Include means
// every library; Exclude wins over Include.
type LibraryFilter struct {
	Include []string
	Exclude []string
}

// ImportRequest asks for the play state of one account.
type ImportRequest struct {
	// AccountID is the backend-local account id.
	AccountID string
	// Since asks for a delta: what changed after Since (new plays, the
	// in-progress set). Zero asks for everything.
	Since time.Time
	// Libraries narrows the import.
	Libraries LibraryFilter
	// PageSize is the most observations a page may hold; 0 lets the backend
	// choose. Out of process, the SDK splits larger pages.
	PageSize int
}

// WriteKind says what a Write sets.
type WriteKind string

// Write kinds.
const (
	WriteWatched   WriteKind = "watched"   // mark played, at PlayedAt when the server takes a date
	WriteUnwatched WriteKind = "unwatched" // mark unplayed (and clear the position)
	WriteProgress  WriteKind = "progress"  // set the resume position to Progress
)

// Write is one change to push to a backend.
type Write struct {
	AccountID string
	ItemID    string
	Kind      WriteKind
	// PlayedAt is the play date for WriteWatched; zero lets the server use
	// its clock.
	PlayedAt time.Time
	// Progress is the position for WriteProgress.
	Progress time.Duration
	// Duration is the item's runtime when known (some servers need it to
	// set a position).
	Duration time.Duration
}

// OutcomeStatus is how one write went.
type OutcomeStatus string

// Outcome statuses.
const (
	OutcomeOK             OutcomeStatus = "ok"
	OutcomeFailed         OutcomeStatus = "failed"
	OutcomeSkippedPlaying OutcomeStatus = "skipped_playing" // progress not written: the item is playing
)

// WriteOutcome is the result of one Write.
type WriteOutcome struct {
	Status OutcomeStatus
	// Permanent marks a failure that retrying cannot fix (the item no
	// longer exists); otherwise the caller retries later.
	Permanent bool
	// Message says what went wrong, for the journal.
	Message string
}

// Succeeded is the outcome of a write that took effect.
func Succeeded() WriteOutcome { return WriteOutcome{Status: OutcomeOK} }

// Failed is the outcome of a write that failed; permanent says whether
// retrying is pointless.
func Failed(permanent bool, message string) WriteOutcome {
	return WriteOutcome{Status: OutcomeFailed, Permanent: permanent, Message: message}
}

// SkippedPlaying is the outcome of a progress write held back because the
// item is playing.
func SkippedPlaying() WriteOutcome {
	return WriteOutcome{Status: OutcomeSkippedPlaying, Message: "item is playing"}
}

// ResolveRequest asks for the backend's ids of items known by GUID.
type ResolveRequest struct {
	// AccountID, when set, resolves in that account's view (servers whose
	// libraries differ per user).
	AccountID string
	Queries   []ResolveQuery
}

// ResolveQuery describes one item to find.
type ResolveQuery struct {
	Kind ItemKind
	// GUIDs are the item's own normalised GUIDs.
	GUIDs []string
	// For episodes: the show's GUIDs with season and episode numbers.
	ShowGUIDs []string
	Season    int
	Episode   int
	// Title and Year are hints for logs; backends need not match on them.
	Title string
	Year  int
}

// Resolution answers one ResolveQuery.
type Resolution struct {
	// ItemID is the backend's id of the item; empty when not found.
	ItemID      string
	LibraryID   string
	LibraryName string
}

// Found reports whether the query was resolved.
func (r Resolution) Found() bool { return r.ItemID != "" }
