package jellyfin

import (
	"context"
	"strings"

	"github.com/keepwatch/keepwatch/backends/internal/mediabrowser/client"
	"github.com/keepwatch/keepwatch/backends/internal/mediabrowser/mbbackend"
	"github.com/keepwatch/keepwatch/backends/internal/mediabrowser/mbhook"
	"github.com/keepwatch/keepwatch/plugins"
	"github.com/keepwatch/keepwatch/plugins/guids"
)

// ParseWebhook parses one Webhook plugin delivery; it needs no configuration.
func (b *Backend) ParseWebhook(_ context.Context, req plugins.WebhookRequest) (plugins.WebhookResult, error) {
	return ParseWebhook(req)
}

// ParseWebhook turns a Generic (JSON) or Generic Form delivery into observations or an addition.
func ParseWebhook(req plugins.WebhookRequest) (plugins.WebhookResult, error) {
	f, err := decode(req)
	if err != nil {
		return plugins.WebhookResult{}, err
	}
	event, _ := f.Str("NotificationType")
	if event == "" {
		return plugins.WebhookResult{}, plugins.Reject("no NotificationType: not a body of the Jellyfin Webhook plugin with \"Send All Properties\"")
	}
	serverID, _ := f.Str("ServerId")
	res := plugins.WebhookResult{ServerID: serverID, Event: event}
	res.AccountID, _ = f.Str("UserId")
	res.AccountName = unescape(f, "NotificationUsername")

	switch event {
	case "PlaybackStart", "PlaybackProgress", "PlaybackStop", "UserDataSaved", "ItemAdded":
	default:
		res.Ignored = event + ": not a play-state event"
		return res, nil
	}
	itemID, _ := f.Str("ItemId")
	if itemID == "" {
		return plugins.WebhookResult{}, plugins.Reject("%s without ItemId", event)
	}
	itemType := unescape(f, "ItemType")
	kind, ok := mbbackend.Kind(itemType)
	if !ok {
		res.Ignored = mbhook.NotVideo(event, itemType, event == "ItemAdded")
		return res, nil
	}
	o := item(f, itemID, kind, event)
	if event == "ItemAdded" {
		// A library addition is nobody's play: the item alone, no account, no state. The
		// plugin sends it again after rescans (wire-formats §6.3); the engine is idempotent.
		res.AccountID, res.AccountName = "", ""
		res.Added = []plugins.Observation{o}
		return res, nil
	}
	if res.AccountID == "" {
		// The plugin sends some item events without user data (wire-formats §6.1); whose
		// state it is cannot be told, and the next import reads it.
		res.Ignored = event + " without UserId: cannot tell whose play state it is"
		return res, nil
	}
	o.AccountID, o.AccountName = res.AccountID, res.AccountName

	s := &o.State
	s.EventAt, _ = f.Time("UtcTimestamp")
	pos, hasPos := f.Int("PlaybackPositionTicks")
	if hasPos {
		s.ProgressKnown, s.Progress = true, client.Duration(max(pos, 0))
	}

	switch event {
	case "PlaybackStart", "PlaybackProgress":
		s.Playing = true
	case "PlaybackStop":
		// Completion is the server's own verdict (DESIGN rule 6); a stop short of it is
		// progress.
		if done, _ := f.Bool("PlayedToCompletion"); done {
			mbhook.Completed(s)
		}
	case "UserDataSaved":
		reason, _ := f.Str("SaveReason")
		if reason != "" {
			o.Event = event + "/" + reason
		}
		if played, ok := f.Bool("Played"); ok {
			s.WatchedKnown, s.Watched = true, played
			if played {
				s.PlayedAt, _ = f.Time("LastPlayedDate")
			}
		}
		if n, ok := f.Int("PlayCount"); ok && n > 0 {
			s.PlayCount = int(n)
		}
		s.Playing = reason == "PlaybackStart" || reason == "PlaybackProgress"
	}
	res.Observations = []plugins.Observation{o}
	return res, nil
}

// item reads the item keys every item event carries (AddBaseItemData): the same for a
// playback, a user-data save and an addition.
func item(f mbhook.Fields, itemID string, kind plugins.ItemKind, event string) plugins.Observation {
	o := plugins.Observation{
		ItemID: itemID, Kind: kind, Title: unescape(f, "Name"), Event: event,
		GUIDs: guids.FromProviderIDs(f.Prefixed("provider_")),
	}
	if y, ok := f.Int("Year"); ok && kind == plugins.KindMovie && y > 0 && y < 10000 {
		o.Year = int(y) // an episode's Year is its series' year
	}
	if t, ok := f.Int("RunTimeTicks"); ok && t > 0 {
		o.Duration = client.Duration(t)
	}
	if kind == plugins.KindEpisode {
		// Provider_* are the episode's own ids; the series' are not sent, only SeriesId.
		o.ShowID, _ = f.Str("SeriesId")
		o.ShowTitle = unescape(f, "SeriesName")
		o.Season = nonNegative(f, "SeasonNumber")
		o.Episode = nonNegative(f, "EpisodeNumber")
	}
	return o
}

// decode reads the body: a form for the Generic Form destination, else JSON whatever the
// Content-Type says (text/plain by default).
func decode(req plugins.WebhookRequest) (mbhook.Fields, error) {
	switch mbhook.MediaType(req.Headers) {
	case "application/x-www-form-urlencoded":
		v, err := mbhook.Form(req.Body)
		if err != nil {
			return nil, err
		}
		return mbhook.FromForm(v), nil
	case "multipart/form-data":
		return nil, plugins.Reject("a multipart body: the Jellyfin Webhook plugin sends JSON or a form")
	}
	obj, err := mbhook.JSONObject(req.Body)
	if err != nil {
		return nil, err
	}
	return mbhook.FromJSON(obj), nil
}

// unescape reads a string the plugin passed through Escape(), which puts a backslash before
// every quote before serialising.
func unescape(f mbhook.Fields, key string) string {
	s, _ := f.Str(key)
	return strings.ReplaceAll(s, `\"`, `"`)
}

func nonNegative(f mbhook.Fields, key string) int {
	n, ok := f.Int(key)
	if !ok || n < 0 || n > 1<<20 {
		return 0
	}
	return int(n)
}
