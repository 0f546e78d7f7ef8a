package fakeserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// session is a client connection that may be playing something.
type session struct {
	id          string
	user        int   // -1: a session of an API key (no user)
	additional  []int // AdditionalUsers: everyone watching together
	client      string
	device      string
	deviceID    string
	remote      string
	item        int32 // -1: nothing playing
	position    int64
	paused      bool
	lastActive  time.Time
	lastCheckIn time.Time
}

func (ss *session) users() []int {
	if ss.user < 0 {
		return nil
	}
	return append([]int{ss.user}, ss.additional...)
}

// PlaybackOptions describes the client of a simulated playback.
type PlaybackOptions struct {
	Position        time.Duration // where playback starts
	Client          string        // default "Jellyfin Web" / "Emby Web"
	Device          string        // default "Chrome"
	DeviceID        string
	RemoteEndPoint  string   // default "127.0.0.1"
	AdditionalUsers []string // more users in the same session (Jellyfin sends one webhook each)
}

// Playback is a simulated playback a person started on the server.
type Playback struct {
	s    *Server
	sess *session
}

// SessionID is the session's id as /Sessions and the webhooks report it.
func (p *Playback) SessionID() string { return p.sess.id }

func ticks(d time.Duration) int64 { return int64(d / 100) }

// StartPlayback starts playing an item for a user, as a client's check-in would: the play is
// counted, LastPlayedDate moves to now, and the start webhooks go out (Jellyfin
// UserDataSaved PlaybackStart + PlaybackStart per user; Emby playback.start).
func (s *Server) StartPlayback(user, itemID string, o PlaybackOptions) (*Playback, error) {
	u := s.userByName(user)
	if u < 0 {
		return nil, fmt.Errorf("fakeserver: start playback: no user named %q", user)
	}
	ss := &session{user: u, client: o.Client, device: o.Device, deviceID: o.DeviceID, remote: o.RemoteEndPoint, item: -1}
	for _, name := range o.AdditionalUsers {
		a := s.userByName(name)
		if a < 0 {
			return nil, fmt.Errorf("fakeserver: start playback: AdditionalUsers names %q, which is not a user", name)
		}
		ss.additional = append(ss.additional, a)
	}
	s.mu.Lock()
	idx, ok, _ := s.parseItemID(itemID)
	if !ok || !s.kindOf(idx).isVideo() {
		s.mu.Unlock()
		return nil, fmt.Errorf("fakeserver: start playback: %q is not a movie or episode id", itemID)
	}
	s.addSession(ss)
	evs := s.sessionStart(ss, idx, ticks(o.Position), false)
	s.mu.Unlock()
	s.hooks.send(evs...)
	return &Playback{s: s, sess: ss}, nil
}

// Progress reports the position (a client check-in, about every 10 s). The resume rules run:
// a position past 90 % marks the item played already.
func (p *Playback) Progress(pos time.Duration) error { return p.report(pos, false, "") }

// Pause reports a pause at pos (Jellyfin: PlaybackProgress with IsPaused; Emby: playback.pause).
func (p *Playback) Pause(pos time.Duration) error { return p.report(pos, true, "playback.pause") }

// Unpause reports playback resuming at pos (Emby: playback.unpause).
func (p *Playback) Unpause(pos time.Duration) error {
	return p.report(pos, false, "playback.unpause")
}

func (p *Playback) report(pos time.Duration, paused bool, embyEvent string) error {
	s := p.s
	s.mu.Lock()
	if p.sess.item < 0 {
		s.mu.Unlock()
		return fmt.Errorf("fakeserver: playback %s is stopped", p.sess.id)
	}
	evs := s.sessionProgress(p.sess, ticks(pos), paused, embyEvent)
	s.mu.Unlock()
	s.hooks.send(evs...)
	return nil
}

// Stop ends playback at pos and reports whether the server counted it as played to
// completion (over 90 %, within a second of the end, or a runtime under 5 minutes).
func (p *Playback) Stop(pos time.Duration) (bool, error) {
	t := ticks(pos)
	return p.stop(&t)
}

// StopWithoutPosition ends playback the way a client that cannot report a position does:
// the server assumes it was watched to the end.
func (p *Playback) StopWithoutPosition() (bool, error) { return p.stop(nil) }

func (p *Playback) stop(pos *int64) (bool, error) {
	s := p.s
	s.mu.Lock()
	if p.sess.item < 0 {
		s.mu.Unlock()
		return false, fmt.Errorf("fakeserver: playback %s is already stopped", p.sess.id)
	}
	completed, evs := s.sessionStop(p.sess, pos)
	s.mu.Unlock()
	s.hooks.send(evs...)
	return completed, nil
}

// addSession fills defaults and registers the session; the caller holds s.mu.
func (s *Server) addSession(ss *session) {
	if ss.client == "" {
		ss.client = map[Flavor]string{Jellyfin: "Jellyfin Web", Emby: "Emby Web"}[s.cfg.Flavor]
	}
	if ss.device == "" {
		ss.device = "Chrome"
	}
	if ss.remote == "" {
		ss.remote = "127.0.0.1"
	}
	n := int64(len(s.sessions))
	if ss.deviceID == "" {
		ss.deviceID = s.hex32(saltSess+2, n)
	}
	ss.id = s.hex32(saltSess, n)
	ss.lastActive = s.cfg.Now()
	s.sessions = append(s.sessions, ss)
}

// sessionStart: OnPlaybackStart for every user of the session; the caller holds s.mu.
func (s *Server) sessionStart(ss *session, idx int32, pos int64, paused bool) []hookEvent {
	now := s.cfg.Now()
	ss.item, ss.position, ss.paused, ss.lastActive, ss.lastCheckIn = idx, pos, paused, now, now
	r, _ := s.item(idx)
	var evs []hookEvent
	for _, u := range ss.users() {
		d := s.playStart(u, idx)
		evs = append(evs, s.userDataEvent(u, r, d, reasonPlaybackStart)...)
	}
	return append(evs, s.playbackEvents(ss, r, "PlaybackStart", "playback.start", pos, nil)...)
}

func (s *Server) sessionProgress(ss *session, pos int64, paused bool, embyEvent string) []hookEvent {
	now := s.cfg.Now()
	ss.position, ss.paused, ss.lastActive, ss.lastCheckIn = pos, paused, now, now
	r, _ := s.item(ss.item)
	var evs []hookEvent
	for _, u := range ss.users() {
		d := s.playProgress(u, ss.item, pos)
		evs = append(evs, s.userDataEvent(u, r, d, reasonPlaybackProgress)...)
	}
	return append(evs, s.playbackEvents(ss, r, "PlaybackProgress", embyEvent, pos, nil)...)
}

func (s *Server) sessionStop(ss *session, pos *int64) (bool, []hookEvent) {
	now := s.cfg.Now()
	r, _ := s.item(ss.item)
	var evs []hookEvent
	completed := false
	for i, u := range ss.users() {
		d, c := s.playStop(u, ss.item, pos)
		if i == 0 {
			completed = c
		}
		evs = append(evs, s.userDataEvent(u, r, d, reasonPlaybackFinished)...)
	}
	reported := ss.position
	if pos != nil {
		reported = *pos
	}
	ss.position, ss.paused, ss.lastActive, ss.lastCheckIn = reported, false, now, now
	evs = append(evs, s.playbackEvents(ss, r, "PlaybackStop", "playback.stop", reported, &completed)...)
	ss.item = -1
	return completed, evs
}

// playbackEvents builds the playback webhooks: Jellyfin sends one per user in the session
// (eventArgs.Users), Emby one per session.
func (s *Server) playbackEvents(ss *session, r itemRec, jfType, embyEv string, pos int64, completed *bool) []hookEvent {
	if !s.wantsHooks() || ss.user < 0 {
		return nil
	}
	if s.cfg.Flavor == Emby {
		if embyEv == "" {
			return nil // Emby has no periodic progress event
		}
		verb := map[string]string{"playback.start": "has started playing", "playback.pause": "has paused", "playback.unpause": "has resumed", "playback.stop": "has finished playing"}[embyEv]
		return []hookEvent{s.embyHook(embyEvent{
			event: embyEv, user: ss.user, item: &r, session: ss, position: &pos, completed: completed,
			title: s.users[ss.user].Name + " " + verb + " " + r.name + " on " + ss.device,
		})}
	}
	var evs []hookEvent
	for _, u := range ss.users() {
		d := s.jfBase(jfType)
		s.jfItem(d, r)
		// AddPlaybackProgressData
		d.setInt("PlaybackPositionTicks", pos)
		d.setStr("PlaybackPosition", hhmmss(pos))
		d.setStr("MediaSourceId", s.itemID(r.idx))
		d.setBool("IsPaused", ss.paused)
		d.setBool("IsAutomated", false)
		d.setStr("DeviceId", ss.deviceID)
		d.setStr("DeviceName", ss.device)
		d.setStr("ClientName", ss.client)
		if completed != nil {
			d.setBool("PlayedToCompletion", *completed)
		}
		// AddSessionInfoData, then the per-user keys.
		d.setStr("Id", ss.id)
		d.setStr("UserId", s.users[ss.user].ID)
		d.setEsc("NotificationUsername", s.users[ss.user].Name)
		d.setEsc("Client", ss.client)
		d.setUTC("LastActivityDate", ss.lastActive)
		d.setUTC("LastPlaybackCheckIn", ss.lastCheckIn)
		d.setEsc("DeviceName", ss.device)
		d.setStr("DeviceId", ss.deviceID)
		d.setStr("RemoteEndPoint", ss.remote)
		d.setStr("NotificationUsername", s.users[u].Name)
		d.setStr("UserId", s.users[u].ID)
		evs = append(evs, hookEvent{name: jfType, user: u, jf: d})
	}
	return evs
}

// HTTP check-ins: POST /Sessions/Playing, /Progress, /Stopped. The session is the token's
// device, as in the servers.

type checkIn struct {
	ItemID        string `json:"ItemId"`
	PositionTicks *int64
	IsPaused      bool
}

func (c *reqCtx) checkInBody() (checkIn, int32, bool) {
	var ci checkIn
	if err := json.Unmarshal(c.body, &ci); err != nil {
		c.fail(http.StatusBadRequest, "body must be a JSON PlaybackInfo object: "+err.Error())
		return ci, -1, false
	}
	idx, ok, _ := c.s.parseItemID(ci.ItemID)
	if !ok || !c.s.kindOf(idx).isVideo() {
		c.fail(http.StatusBadRequest, "ItemId "+ci.ItemID+" is not a movie or episode")
		return ci, -1, false
	}
	return ci, idx, true
}

// sessionFor finds or creates the session of this request's token and device.
func (c *reqCtx) sessionFor() *session {
	s := c.s
	dev := c.auth.deviceID
	for _, ss := range s.sessions {
		if ss.user == c.auth.user && (dev == "" || ss.deviceID == dev) {
			return ss
		}
	}
	ss := &session{user: c.auth.user, client: c.auth.client, device: c.auth.device, deviceID: dev, item: -1}
	if host, _, ok := strings.Cut(c.r.RemoteAddr, ":"); ok {
		ss.remote = host
	}
	s.addSession(ss)
	return ss
}

func (c *reqCtx) checkInDone() {
	if c.s.cfg.Flavor == Emby {
		c.writeStatus(http.StatusOK)
		return
	}
	c.writeStatus(http.StatusNoContent)
}

// checkIn runs one playback check-in: apply changes the request's session
// under the server lock and returns the webhook events, sent after it.
func (c *reqCtx) checkIn(apply func(ss *session, ci checkIn, idx int32) []hookEvent) {
	ci, idx, ok := c.checkInBody()
	if !ok {
		return
	}
	s := c.s
	s.mu.Lock()
	evs := apply(c.sessionFor(), ci, idx)
	s.mu.Unlock()
	s.hooks.send(evs...)
	c.checkInDone()
}

func (c *reqCtx) reportStart() {
	c.checkIn(func(ss *session, ci checkIn, idx int32) []hookEvent {
		var pos int64
		if ci.PositionTicks != nil {
			pos = *ci.PositionTicks
		}
		return c.s.sessionStart(ss, idx, pos, ci.IsPaused)
	})
}

func (c *reqCtx) reportProgress() {
	c.checkIn(func(ss *session, ci checkIn, idx int32) []hookEvent {
		var evs []hookEvent
		if ss.item != idx {
			evs = c.s.sessionStart(ss, idx, 0, false)
		}
		if ci.PositionTicks != nil {
			ev := ""
			if ci.IsPaused != ss.paused {
				ev = map[bool]string{true: "playback.pause", false: "playback.unpause"}[ci.IsPaused]
			}
			evs = append(evs, c.s.sessionProgress(ss, *ci.PositionTicks, ci.IsPaused, ev)...)
		}
		return evs
	})
}

func (c *reqCtx) reportStopped() {
	c.checkIn(func(ss *session, ci checkIn, idx int32) []hookEvent {
		var evs []hookEvent
		if ss.item != idx {
			evs = c.s.sessionStart(ss, idx, 0, false)
		}
		_, stopEvs := c.s.sessionStop(ss, ci.PositionTicks)
		return append(evs, stopEvs...)
	})
}

// listSessions is GET /Sessions: administrators see every session, users their own.
func (c *reqCtx) listSessions() {
	s := c.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	w := s.newJW()
	w.arr()
	for _, ss := range s.sessions {
		if !c.auth.admin(s) && ss.user != c.auth.user {
			continue
		}
		w.obj()
		w.kobj("PlayState")
		if ss.item >= 0 {
			w.knum("PositionTicks", ss.position)
		}
		w.kbool("CanSeek", ss.item >= 0)
		w.kbool("IsPaused", ss.paused)
		w.kbool("IsMuted", false)
		w.kstr("RepeatMode", "RepeatNone")
		w.endObj()
		w.karr("AdditionalUsers")
		for _, a := range ss.additional {
			w.obj()
			w.kstr("UserId", s.users[a].ID)
			w.kstr("UserName", s.users[a].Name)
			w.endObj()
		}
		w.endArr()
		w.kstr("RemoteEndPoint", ss.remote)
		w.karr("PlayableMediaTypes")
		w.str("Video")
		w.endArr()
		w.kstr("Id", ss.id)
		if ss.user >= 0 {
			w.kstr("UserId", s.users[ss.user].ID)
			w.kstr("UserName", s.users[ss.user].Name)
		}
		w.kstr("Client", ss.client)
		w.kstr("LastActivityDate", s.date(ss.lastActive))
		if s.cfg.Flavor == Jellyfin {
			w.kstr("LastPlaybackCheckIn", s.date(ss.lastCheckIn))
		}
		w.kstr("DeviceName", ss.device)
		w.kstr("DeviceId", ss.deviceID)
		w.kstr("ApplicationVersion", s.cfg.Version)
		if ss.item >= 0 {
			r, _ := s.item(ss.item)
			w.key("NowPlayingItem")
			s.writeItem(w, r, dtoOpts{user: -1, fields: map[string]bool{"providerids": true}})
		}
		w.kstr("ServerId", s.serverID)
		if s.cfg.Flavor == Jellyfin {
			w.kbool("IsActive", true)
			w.kbool("SupportsMediaControl", false)
		}
		w.kbool("SupportsRemoteControl", false)
		w.endObj()
	}
	w.endArr()
	c.json(http.StatusOK, w.b)
}
