package plex

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"strings"

	"github.com/keepwatch/keepwatch/plugins"
)

// MaxWebhookBytes is the largest delivery ParseWebhook takes. A Plex webhook
// is a JSON payload of a few KB plus, on some events, a small poster JPEG.
const MaxWebhookBytes = 8 << 20

// maxPayloadBytes bounds the payload part itself.
const maxPayloadBytes = 1 << 20

// webhookPayload is the JSON of the "payload" part (wire-formats §1.3).
type webhookPayload struct {
	Event string `json:"event"`
	// User: the webhook's own account acted; Owner: the webhook's account owns
	// the server. Neither says who acted: Account does.
	User    bool `json:"user"`
	Owner   bool `json:"owner"`
	Account *struct {
		ID    json.Number `json:"id"`
		Title string      `json:"title"`
	} `json:"Account"`
	Server *struct {
		UUID  string `json:"uuid"`
		Title string `json:"title"`
	} `json:"Server"`
	Metadata *metadata `json:"Metadata"`
}

// ignoredEvents are well-formed events with nothing to sync, with the reason.
var ignoredEvents = map[string]string{
	"library.on.deck":          "library.on.deck changes no play state",
	"media.rate":               "media.rate is a rating, not play state",
	"admin.database.backup":    "admin.database.backup is a server event",
	"admin.database.corrupted": "admin.database.corrupted is a server event",
	"device.new":               "device.new is a server event",
	"playback.started":         "playback.started duplicates the shared user's own media.play",
}

// ParseWebhook reads a Plex webhook: multipart/form-data whose "payload" part
// holds the JSON (the "thumb" JPEG part is skipped). application/json and
// form-encoded bodies with a payload field are taken too, for relays.
//
// media.scrobble is the only completion signal (played past 90 %); play,
// pause, resume and stop carry the position (viewOffset, ms) and play/resume
// mark the item playing. library.new lists what a scan added as Added (see
// libraryNew). The owner's webhook carries every Home and shared
// user's events: the account is always Account.id (1 for the owner on most
// PMS versions, mapped to the owner's plex.tv id), never the webhook's owner.
// An episode's own Guid[] holds the episode's ids; its show's GUIDs come from
// grandparentRatingKey, looked up on the server and cached.
func (b *Backend) ParseWebhook(ctx context.Context, req plugins.WebhookRequest) (plugins.WebhookResult, error) {
	st, err := b.state()
	if err != nil {
		return plugins.WebhookResult{}, err
	}
	raw, err := payloadOf(req)
	if err != nil {
		return plugins.WebhookResult{}, err
	}
	var p webhookPayload
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		return plugins.WebhookResult{}, plugins.Reject("payload is not a Plex webhook JSON object: %v", err)
	}
	if p.Event == "" {
		return plugins.WebhookResult{}, plugins.Reject("payload has no event")
	}
	res := plugins.WebhookResult{Event: p.Event}
	if p.Server != nil {
		res.ServerID = p.Server.UUID
	}
	if p.Account != nil {
		res.AccountID, res.AccountName = p.Account.ID.String(), p.Account.Title
	}
	if why, ok := ignoredEvents[p.Event]; ok {
		res.Ignored = why
		return res, nil
	}
	if p.Event == "library.new" {
		return st.libraryNew(ctx, res, p.Metadata)
	}
	var progress, playing bool
	switch p.Event {
	case "media.scrobble":
	case "media.play", "media.resume":
		progress, playing = true, true
	case "media.pause", "media.stop":
		progress = true
	default:
		res.Ignored = fmt.Sprintf("event %q is not a Plex playback event keepwatch syncs", p.Event)
		return res, nil
	}
	if p.Metadata == nil || p.Metadata.RatingKey == "" {
		return res, plugins.Reject("%s without Metadata.ratingKey", p.Event)
	}
	m := p.Metadata
	kind, ok := kindOf(m.Type)
	if !ok {
		res.Ignored = fmt.Sprintf("%s of a %s: only movies and episodes are synced", p.Event, m.Type)
		return res, nil
	}
	if p.Account == nil || res.AccountID == "" {
		return res, plugins.Reject("%s without Account.id: cannot tell whose play it was", p.Event)
	}
	if res.ServerID == "" {
		return res, plugins.Reject("%s without Server.uuid", p.Event)
	}
	if res.AccountID, err = st.dir.canonicalID(ctx, res.AccountID); err != nil {
		return plugins.WebhookResult{}, fmt.Errorf("plex: webhook: map the owner's account id 1: %w", err)
	}

	o, err := st.webhookItem(ctx, m, kind, p.Event)
	if err != nil {
		return plugins.WebhookResult{}, err
	}
	o.AccountID, o.AccountName = res.AccountID, res.AccountName
	if progress {
		o.State = plugins.State{ProgressKnown: true, Progress: ms(max(m.ViewOffset, 0)), Playing: playing, PlayCount: max(m.ViewCount, 0)}
	} else {
		// After a scrobble lastViewedAt is the play's time.
		at := epoch(m.LastViewedAt)
		o.State = plugins.State{WatchedKnown: true, Watched: true, PlayedAt: at, EventAt: at, PlayCount: max(m.ViewCount, 0)}
	}
	res.Observations = []plugins.Observation{o}
	return res, nil
}

// libraryNew reads library.new, which PMS sends after a scan for every item it
// added that the webhook's account can see: a movie or an episode as itself,
// and a season or show found whole as one item (Metadata.type "season" or
// "show"), whose episodes are listed with allLeaves in the owner's view. The
// additions are nobody's play: Account is only the webhook's own account, so
// neither the result nor the Added entries carry it.
func (st *state) libraryNew(ctx context.Context, res plugins.WebhookResult, m *metadata) (plugins.WebhookResult, error) {
	res.AccountID, res.AccountName = "", ""
	switch {
	case m == nil || m.RatingKey == "":
		return res, plugins.Reject("library.new without Metadata.ratingKey")
	case m.Type == "":
		return res, plugins.Reject("library.new of item %s without Metadata.type", m.RatingKey)
	case res.ServerID == "":
		return res, plugins.Reject("library.new without Server.uuid")
	}
	items := []metadata{*m}
	switch m.Type {
	case "movie", "episode":
	case "show", "season":
		eps, err := st.leaves(ctx, m.RatingKey)
		if isNotFound(err) {
			// Deleted since the scan, or an old delivery replayed.
			res.Ignored = fmt.Sprintf("library.new of %s %s (%q): the server no longer has it", m.Type, m.RatingKey, m.Title)
			return res, nil
		}
		if err != nil {
			return plugins.WebhookResult{}, fmt.Errorf("plex: webhook: library.new of %s %s: %w", m.Type, m.RatingKey, unavailable(err))
		}
		items = eps
	default:
		res.Ignored = fmt.Sprintf("library.new of a %s: only movies and episodes are synced", m.Type)
		return res, nil
	}
	res.Added = make([]plugins.Observation, 0, len(items))
	for i := range items {
		it := &items[i]
		kind, ok := kindOf(it.Type)
		if !ok {
			continue // allLeaves lists episodes; anything else is not synced
		}
		if it.LibrarySectionID == "" {
			// A listing may hoist the section to its container: the show's is theirs.
			it.LibrarySectionID, it.LibrarySectionTitle = m.LibrarySectionID, m.LibrarySectionTitle
		}
		o, err := st.webhookItem(ctx, it, kind, res.Event)
		if err != nil {
			return plugins.WebhookResult{}, err
		}
		res.Added = append(res.Added, o)
	}
	if len(res.Added) == 0 {
		res.Added = nil
		res.Ignored = fmt.Sprintf("library.new of %s %s (%q): the server lists no episodes in it", m.Type, m.RatingKey, m.Title)
	}
	return res, nil
}

// webhookItem describes the item m of a webhook, without account or state:
// its ids, its library and, for an episode, its show (see webhookShow).
func (st *state) webhookItem(ctx context.Context, m *metadata, kind plugins.ItemKind, event string) (plugins.Observation, error) {
	var show *showInfo
	if kind == plugins.KindEpisode {
		var err error
		if show, err = st.webhookShow(ctx, m); err != nil {
			return plugins.Observation{}, fmt.Errorf("plex: webhook: look up show %s: %w", m.GrandparentRatingKey, unavailable(err))
		}
	}
	o := plugins.Observation{LibraryID: string(m.LibrarySectionID), LibraryName: m.LibrarySectionTitle, Event: event}
	fill(&o, m, kind, show)
	return o, nil
}

// webhookShow looks up an episode's show for its external ids. Only new-agent
// shows (plex://show/…) keep them in Guid[]; a legacy agent's episode guid
// already names the show. A show PMS no longer has leaves the episode with
// the ids its payload carries.
func (st *state) webhookShow(ctx context.Context, m *metadata) (*showInfo, error) {
	if m.GrandparentRatingKey == "" || !strings.HasPrefix(m.GrandparentGUID, "plex://") {
		return nil, nil
	}
	owner, err := st.dir.owner(ctx)
	if err != nil {
		return nil, err
	}
	var shows map[string]showInfo
	err = st.dir.withToken(ctx, owner, func(tok string) error {
		var err error
		shows, err = st.lookupShows(ctx, tok, []string{m.GrandparentRatingKey})
		return err
	})
	if err != nil {
		return nil, err
	}
	s, ok := shows[m.GrandparentRatingKey]
	if !ok {
		st.log.Debug().Str("show", m.GrandparentRatingKey).Msg("webhook: show not found on the server; using the payload's ids")
		return nil, nil
	}
	return &s, nil
}

// payloadOf extracts the JSON payload of a delivery, or rejects it.
func payloadOf(req plugins.WebhookRequest) ([]byte, error) {
	if len(req.Body) == 0 {
		return nil, plugins.Reject("empty body")
	}
	if len(req.Body) > MaxWebhookBytes {
		return nil, plugins.Reject("body of %d bytes is over the %d-byte limit", len(req.Body), MaxWebhookBytes)
	}
	ct := req.Headers.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if ct == "" {
		mt, err = "application/json", nil
	}
	if err != nil {
		return nil, plugins.Reject("Content-Type %q: %v", ct, err)
	}
	switch mt {
	case "multipart/form-data":
		return multipartPayload(req.Body, params["boundary"])
	case "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(req.Body))
		if err != nil {
			return nil, plugins.Reject("form body: %v", err)
		}
		if p := form.Get("payload"); p != "" {
			return []byte(p), nil
		}
		return nil, plugins.Reject("form body has no payload field")
	case "application/json", "text/plain":
		return req.Body, nil
	}
	return nil, plugins.Reject("Content-Type %q is not multipart/form-data (Plex sends its payload as a form part)", mt)
}

// multipartPayload reads the "payload" part; every other part (the thumb JPEG)
// is skipped unread by NextPart.
func multipartPayload(body []byte, boundary string) ([]byte, error) {
	if boundary == "" {
		return nil, plugins.Reject("multipart body without a boundary parameter")
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, plugins.Reject("multipart body has no payload part")
		}
		if err != nil {
			return nil, plugins.Reject("broken multipart body: %v", err)
		}
		if part.FormName() != "payload" {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(part, maxPayloadBytes+1))
		if err != nil {
			return nil, plugins.Reject("payload part: %v", err)
		}
		if len(b) > maxPayloadBytes {
			return nil, plugins.Reject("payload part is over the %d-byte limit", maxPayloadBytes)
		}
		if len(bytes.TrimSpace(b)) == 0 {
			return nil, plugins.Reject("payload part is empty")
		}
		return b, nil
	}
}
