package emby

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"

	"github.com/keepwatch/keepwatch/backends/internal/mediabrowser/client"
	"github.com/keepwatch/keepwatch/backends/internal/mediabrowser/mbbackend"
	"github.com/keepwatch/keepwatch/backends/internal/mediabrowser/mbhook"
	"github.com/keepwatch/keepwatch/plugins"
	"github.com/keepwatch/keepwatch/plugins/guids"
)

// ParseWebhook parses one native webhook delivery; it needs no configuration.
func (b *Backend) ParseWebhook(_ context.Context, req plugins.WebhookRequest) (plugins.WebhookResult, error) {
	return ParseWebhook(req)
}

// hook is the body of a native webhook.
type hook struct {
	Event string
	Date  client.Time
	User  *struct {
		ID   string `json:"Id"`
		Name string
	}
	Server *struct {
		ID string `json:"Id"`
	}
	// Item is a BaseItemDto, which has no Played of its own: whether an item.markplayed /
	// item.markunplayed marked it played is the event's name (wire-formats §4.1; a
	// third-party test body with "Played" beside the item's fields says no more), and
	// Item.UserData, when sent, gives the play date and count.
	Item         *client.Item
	PlaybackInfo *struct {
		PlayedToCompletion *bool
		PositionTicks      *int64
	}
}

// testEvent is the "Send test notification" button's event.
const testEvent = "system.notificationtest"

// ParseWebhook turns a native webhook delivery into observations or an addition.
func ParseWebhook(req plugins.WebhookRequest) (plugins.WebhookResult, error) {
	if len(bytes.TrimSpace(req.Body)) == 0 && strings.HasPrefix(req.Headers.Get("User-Agent"), "Emby Server/") {
		// Before 4.9.0.37 the test notification carried no data (wire-formats §4.1). An empty
		// body from anything else stays garbage.
		return plugins.WebhookResult{Event: testEvent, Ignored: "an empty body from " + req.Headers.Get("User-Agent") + ": a test notification (servers before 4.9.0.37 send it without data)"}, nil
	}
	h, err := decode(req)
	if err != nil {
		return plugins.WebhookResult{}, err
	}
	res := plugins.WebhookResult{Event: h.Event}
	if h.Server != nil {
		res.ServerID = h.Server.ID
	}
	if h.User != nil {
		res.AccountID, res.AccountName = h.User.ID, h.User.Name
	}
	switch h.Event {
	case "playback.start", "playback.pause", "playback.unpause", "playback.stop", "item.markplayed", "item.markunplayed", "library.new":
	case testEvent:
		res.Ignored = testEvent + ": a test notification"
		return res, nil
	default:
		res.Ignored = h.Event + ": not a play-state event"
		return res, nil
	}
	if h.Item == nil || h.Item.ID == "" {
		return plugins.WebhookResult{}, plugins.Reject("%s without Item.Id", h.Event)
	}
	it := h.Item
	kind, ok := mbbackend.Kind(it.Type)
	if !ok {
		res.Ignored = mbhook.NotVideo(h.Event, it.Type, h.Event == "library.new")
		return res, nil
	}
	o := item(it, kind, h.Event)
	if h.Event == "library.new" {
		// A library addition is nobody's play: the item alone, no account, no state.
		res.AccountID, res.AccountName = "", ""
		res.Added = []plugins.Observation{o}
		return res, nil
	}
	if res.AccountID == "" {
		res.Ignored = h.Event + " without User: add the user to the webhook's \"Limit user events to\" list"
		return res, nil
	}
	o.AccountID, o.AccountName = res.AccountID, res.AccountName
	s := &o.State
	s.EventAt = h.Date.Time
	if pi := h.PlaybackInfo; pi != nil && pi.PositionTicks != nil {
		s.ProgressKnown, s.Progress = true, client.Duration(max(*pi.PositionTicks, 0))
	}
	switch h.Event {
	case "playback.start", "playback.pause", "playback.unpause":
		s.Playing = true
	case "playback.stop":
		// On auto-play-next the Session can be stale; PlaybackInfo is what to trust.
		if pi := h.PlaybackInfo; pi != nil && pi.PlayedToCompletion != nil && *pi.PlayedToCompletion {
			mbhook.Completed(s)
		}
	case "item.markplayed":
		mbhook.Completed(s)
		if ud := it.UserData; ud != nil {
			if !ud.LastPlayedDate.IsZero() {
				s.PlayedAt = ud.LastPlayedDate.Time
			}
			s.PlayCount = max(ud.PlayCount, 0)
		}
	case "item.markunplayed":
		s.WatchedKnown, s.Watched = true, false
		s.ProgressKnown, s.Progress = true, 0
	}
	res.Observations = []plugins.Observation{o}
	return res, nil
}

// item reads what the webhook's Item (a BaseItemDto) says about the item, the same for
// every event.
func item(it *client.Item, kind plugins.ItemKind, event string) plugins.Observation {
	o := plugins.Observation{
		ItemID: it.ID, Kind: kind, Title: it.Name, GUIDs: guids.FromProviderIDs(it.ProviderIDs),
		Event: event, Duration: client.Duration(max(it.RunTimeTicks, 0)),
	}
	if kind == plugins.KindMovie {
		o.Year = it.ProductionYear
	} else {
		// ProviderIds are the episode's own; the series' are not sent, only SeriesId.
		o.ShowID, o.ShowTitle = it.SeriesID, it.SeriesName
		o.Season, o.Episode = max(it.ParentIndexNumber, 0), max(it.IndexNumber, 0)
	}
	return o
}

// decode finds the JSON (the body, a multipart or form field "data", or a {"data": ...}
// wrapper) and decodes it.
func decode(req plugins.WebhookRequest) (*hook, error) {
	body := req.Body
	switch mbhook.MediaType(req.Headers) {
	case "multipart/form-data":
		b, err := mbhook.MultipartField(req.Headers, req.Body, "data")
		if err != nil {
			return nil, err
		}
		body = b
	case "application/x-www-form-urlencoded":
		v, err := mbhook.Form(req.Body)
		if err != nil {
			return nil, err
		}
		if v.Get("data") == "" {
			return nil, plugins.Reject("form body without a data field")
		}
		body = []byte(v.Get("data"))
	}
	obj, err := mbhook.JSONObject(body)
	if err != nil {
		return nil, err
	}
	if _, ok := obj["Event"]; !ok {
		switch d := obj["data"].(type) {
		case string: // the JSON as a string, as some senders wrap it
			if obj, err = mbhook.JSONObject([]byte(d)); err != nil {
				return nil, err
			}
		case map[string]any:
			obj = d
		}
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, plugins.Reject("the body cannot be re-read: %v", err)
	}
	var h hook
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, plugins.Reject("the body is not an Emby webhook: %v", err)
	}
	if h.Event == "" {
		return nil, plugins.Reject("no Event: not a body of Emby's webhooks")
	}
	return &h, nil
}
