package tautulli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/keepwatch/keepwatch/plugins"
	"github.com/keepwatch/keepwatch/plugins/guids"
)

// hook is the body of keepwatch's Tautulli webhook template (see doc.go)
// after Tautulli's substitution: a Plex-webhook-like object whose values
// are all strings. Fields keepwatch does not read are not declared.
type hook struct {
	Event   flexString `json:"event"`
	Account struct {
		ID    flexString `json:"id"`
		Title flexString `json:"title"`
	} `json:"Account"`
	Server struct {
		UUID flexString `json:"uuid"`
	} `json:"Server"`
	Metadata struct {
		RatingKey            flexString `json:"ratingKey"`
		GrandparentRatingKey flexString `json:"grandparentRatingKey"`
		// guid and Guid differ only in case: encoding/json prefers the
		// exact key, so each lands in its own field.
		GUID                flexString                `json:"guid"`
		GUIDList            []struct{ ID flexString } `json:"Guid"`
		Guids               map[string]flexString     `json:"Guids"`
		Type                flexString                `json:"type"`
		Title               flexString                `json:"title"`
		GrandparentTitle    flexString                `json:"grandparentTitle"`
		LibrarySectionTitle flexString                `json:"librarySectionTitle"`
		LibrarySectionID    flexString                `json:"librarySectionID"`
		Index               flexString                `json:"index"`
		ParentIndex         flexString                `json:"parentIndex"`
		ViewOffset          flexString                `json:"viewOffset"`
		Duration            flexString                `json:"duration"`
		Year                flexString                `json:"year"`
	} `json:"Metadata"`
}

// ParseWebhook reads one delivery of the template. play/resume/pause/stop
// carry the position (progress only, with InferCompletion: Tautulli sends
// no completion flag with them); watched is Tautulli's completion signal;
// created (recently added) of a movie or an episode is an addition, the
// item alone in WebhookResult.Added. Tautulli's other actions and its test
// notifications are ignored.
func (b *Backend) ParseWebhook(_ context.Context, req plugins.WebhookRequest) (plugins.WebhookResult, error) {
	if _, err := b.settings(); err != nil {
		return plugins.WebhookResult{}, err
	}
	h, err := decodeHook(req)
	if err != nil {
		return plugins.WebhookResult{}, err
	}
	event := strings.TrimSpace(string(h.Event))
	action, ok := cutPrefixFold(event, "tautulli.")
	if !ok {
		return plugins.WebhookResult{}, plugins.Reject("event %q is not a Tautulli event: the template's \"event\" must be \"tautulli.{action}\"", event)
	}
	res := plugins.WebhookResult{ServerID: text(h.Server.UUID), AccountName: text(h.Account.Title), Event: "tautulli." + strings.ToLower(action)}
	if guids.IsAbsent(action) {
		// Tautulli's "Test Notifications" button sends the templates
		// without substituting them.
		res.Event = event
		res.Ignored = "test notification: Tautulli sent the template with its {placeholders} unsubstituted"
		return res, nil
	}
	switch action = strings.ToLower(action); action {
	case "play", "resume", "pause", "stop", "watched", "created":
	default:
		res.Ignored = fmt.Sprintf("tautulli.%s is not a play-state event (keepwatch reads play, pause, resume, stop, watched and created)", action)
		return res, nil
	}

	kind := plugins.ItemKind(strings.ToLower(text(h.Metadata.Type)))
	switch kind {
	case plugins.KindMovie, plugins.KindEpisode:
	case "":
		return plugins.WebhookResult{}, plugins.Reject("Metadata.type is missing: the template must send \"type\": \"{media_type}\"")
	case "show", "season":
		if action == "created" {
			// Tautulli groups the episodes added together under their show or
			// season (NOTIFY_GROUP_RECENTLY_ADDED_GRANDPARENT/_PARENT, on by
			// default) and the grouped notification names none of them.
			res.Ignored = fmt.Sprintf("tautulli.created of a %s names none of its episodes: turn off Tautulli's grouping of recently added notifications to get one per episode", kind)
			return res, nil
		}
		fallthrough
	default:
		res.Ignored = fmt.Sprintf("media type %q is not synced (movies and episodes only)", kind)
		return res, nil
	}

	if action != "created" { // an addition names no user
		rawAccount := strings.TrimSpace(string(h.Account.ID))
		switch account := text(h.Account.ID); {
		case rawAccount == "0":
			res.AccountID = "0"
			res.Ignored = "played by Tautulli's Local pseudo-user (user_id 0), which is no Plex account"
			return res, nil
		case account == "":
			return plugins.WebhookResult{}, plugins.Reject("Account.id is missing: the template must send \"id\": \"{user_id}\" under Account")
		case !isDigits(account):
			return plugins.WebhookResult{}, plugins.Reject("Account.id %q is not a Plex user id (want digits, from {user_id})", account)
		default:
			res.AccountID = account
		}
	} else {
		res.AccountName = "" // whatever the template's {username} became
	}
	o, err := b.hookItem(h, kind, res.Event)
	if err != nil {
		return plugins.WebhookResult{}, err
	}
	if action == "created" {
		// Nobody's play: the item alone, no account, no state.
		res.Added = []plugins.Observation{o}
		return res, nil
	}
	o.AccountID, o.AccountName = res.AccountID, res.AccountName

	switch action {
	case "watched":
		o.State = plugins.State{WatchedKnown: true, Watched: true}
		// The template carries no time but the local date of the
		// previous view; Tautulli sends "watched" as the play crosses
		// its threshold, so the receive time is the play's time.
		if !req.ReceivedAt.IsZero() {
			o.State.PlayedAt = req.ReceivedAt.UTC().Truncate(time.Second)
		}
	default:
		o.State = plugins.State{InferCompletion: true, Playing: action == "play" || action == "resume"}
		if ms, ok := number(h.Metadata.ViewOffset); ok {
			o.State.ProgressKnown, o.State.Progress = true, time.Duration(ms)*time.Millisecond
		}
	}
	res.Observations = []plugins.Observation{o}
	return res, nil
}

// decodeHook checks the transport and decodes the body.
func decodeHook(req plugins.WebhookRequest) (*hook, error) {
	switch req.Method {
	case "", http.MethodPost, http.MethodPut:
	default:
		return nil, plugins.Reject("method %s: set the Tautulli webhook method to PUT or POST", req.Method)
	}
	if ct := req.Headers.Get("Content-Type"); ct != "" {
		mt, _, _ := mime.ParseMediaType(ct)
		if strings.HasPrefix(mt, "multipart/") || mt == "application/x-www-form-urlencoded" {
			return nil, plugins.Reject("body is %s; Tautulli sends JSON unless the JSON Headers template changes Content-Type: keep application/json", mt)
		}
	}
	body := bytes.TrimSpace(req.Body)
	if len(body) == 0 {
		return nil, plugins.Reject("empty body: give the Tautulli webhook agent keepwatch's JSON Data template for this trigger")
	}
	if body[0] != '{' {
		return nil, plugins.Reject("body is not a JSON object (it starts with %q)", preview(body))
	}
	var h hook
	if err := json.Unmarshal(body, &h); err != nil {
		return nil, plugins.Reject("body is not the Tautulli webhook template's JSON: %v", err)
	}
	if strings.TrimSpace(string(h.Event)) == "" {
		return nil, plugins.Reject("no \"event\" field: the JSON Data template must start with \"event\": \"tautulli.{action}\"")
	}
	return &h, nil
}

func preview(b []byte) string {
	if len(b) > 16 {
		b = b[:16]
	}
	return string(b)
}

// hookItem reads what the delivery says about the item (ids, titles, show,
// numbers, library, length), the same for a play and an addition.
func (b *Backend) hookItem(h *hook, kind plugins.ItemKind, event string) (plugins.Observation, error) {
	itemID := text(h.Metadata.RatingKey)
	if itemID == "" {
		return plugins.Observation{}, plugins.Reject("Metadata.ratingKey is missing: the template must send \"ratingKey\": \"{rating_key}\"")
	}
	o := plugins.Observation{
		ItemID: itemID, LibraryID: text(h.Metadata.LibrarySectionID), LibraryName: text(h.Metadata.LibrarySectionTitle),
		Kind: kind, Title: text(h.Metadata.Title), Event: event,
	}
	if ms, ok := number(h.Metadata.Duration); ok {
		o.Duration = time.Duration(ms) * time.Millisecond
	}
	b.hookGUIDs(&o, h)
	return o, nil
}

// hookGUIDs gathers the delivery's ids. The template's Guids map holds
// Tautulli's {imdb_id}, {thetvdb_id}, {themoviedb_id}, {tvmaze_id}: a
// movie's own ids, but for an episode its SHOW's.
func (b *Backend) hookGUIDs(o *plugins.Observation, h *hook) {
	in := guidInput{agents: []string{text(h.Metadata.GUID)}}
	for _, g := range h.Metadata.GUIDList {
		in.agents = append(in.agents, text(g.ID))
	}
	for source, id := range h.Metadata.Guids {
		v := text(id)
		if v == "" {
			continue
		}
		g, err := guids.Normalize(source, v)
		if err != nil {
			b.log.Debug().Err(err).Str("item", o.ItemID).Msg("ignoring an id of the webhook's Guids")
			continue
		}
		in.external = append(in.external, g)
	}
	season, seasonOK := number(h.Metadata.ParentIndex)
	episode, episodeOK := number(h.Metadata.Index)
	in.season, in.episode, in.numbered = season, episode, seasonOK && episodeOK
	if o.Kind == plugins.KindMovie {
		if y, ok := number(h.Metadata.Year); ok {
			o.Year = year(y)
		}
	} else {
		o.ShowID, o.ShowTitle = text(h.Metadata.GrandparentRatingKey), text(h.Metadata.GrandparentTitle)
	}
	applyGUIDs(b.log, o, in)
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return "", false
	}
	return s[len(prefix):], true
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
