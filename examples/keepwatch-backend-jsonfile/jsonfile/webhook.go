package jsonfile

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/keepwatch/keepwatch/plugins"
)

// event is the webhook body this backend understands:
//
//	{"event": "play|pause|stop|scrobble|watched|unwatched|test",
//	 "server_id": "...", "account_id": "1", "item_id": "m1",
//	 "position_ms": 60000, "at": "2024-05-06T07:08:09Z"}
type event struct {
	Event      string    `json:"event"`
	ServerID   string    `json:"server_id"`
	AccountID  string    `json:"account_id"`
	ItemID     string    `json:"item_id"`
	PositionMS *int64    `json:"position_ms"`
	At         time.Time `json:"at"`
}

// ParseWebhook never trusts the body: anything that is not one JSON object
// with a known event is rejected with the reason.
func (b *Backend) ParseWebhook(_ context.Context, req plugins.WebhookRequest) (plugins.WebhookResult, error) {
	path, _, err := b.file()
	if err != nil {
		return plugins.WebhookResult{}, err
	}
	body := bytes.TrimSpace(req.Body)
	if len(body) == 0 {
		return plugins.WebhookResult{}, plugins.Reject("empty body: expected a JSON event")
	}
	if body[0] != '{' {
		return plugins.WebhookResult{}, plugins.Reject("body is not a JSON object")
	}
	var ev event
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&ev); err != nil {
		return plugins.WebhookResult{}, plugins.Reject("body is not a valid JSON event: %v", err)
	}
	if dec.More() {
		return plugins.WebhookResult{}, plugins.Reject("body holds more than one JSON value")
	}
	res := plugins.WebhookResult{ServerID: ev.ServerID, AccountID: ev.AccountID, Event: ev.Event}
	var state plugins.State
	switch ev.Event {
	case "":
		return plugins.WebhookResult{}, plugins.Reject(`body has no "event"`)
	case "test":
		res.Ignored = "test event"
		return res, nil
	case "play", "pause", "stop":
		if ev.PositionMS == nil {
			return plugins.WebhookResult{}, plugins.Reject("%s event without position_ms", ev.Event)
		}
		state.ProgressKnown = true
		state.Progress = time.Duration(*ev.PositionMS) * time.Millisecond
		state.Playing = ev.Event != "stop"
	case "scrobble", "watched":
		state.WatchedKnown, state.Watched, state.PlayedAt = true, true, ev.At
	case "unwatched":
		state.WatchedKnown = true
	default:
		return plugins.WebhookResult{}, plugins.Reject("unknown event %q", ev.Event)
	}
	if ev.AccountID == "" {
		res.Ignored = fmt.Sprintf("%s event names no account", ev.Event)
		return res, nil
	}
	state.EventAt = ev.At

	var found *plugins.Observation
	var h *header
	err = scan(path, func(hd *header) error { h = hd; return nil }, func(it *item) error {
		if it.ID != ev.ItemID {
			return nil
		}
		o := observation(h, it, ev.AccountID)
		found = &o
		return errStop
	})
	if err != nil && err != errStop {
		return plugins.WebhookResult{}, fmt.Errorf("jsonfile: webhook: %w", unavailable(err))
	}
	if found == nil {
		res.Ignored = fmt.Sprintf("item %q is not in the library", ev.ItemID)
		return res, nil
	}
	res.AccountName = found.AccountName
	found.State = state
	found.Event = ev.Event
	res.Observations = []plugins.Observation{*found}
	return res, nil
}
