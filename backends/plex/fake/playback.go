package fake

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// player is the client a session plays on.
type player struct {
	id      string // X-Plex-Client-Identifier; webhook Player.uuid
	title   string
	local   bool
	address string
}

// session is a playback in progress, as /status/sessions lists it.
type session struct {
	key       int
	user      *account
	idx       int32
	player    player
	state     string // playing, paused, buffering
	offset    int64  // ms
	scrobbled bool
}

// defaultPlayer is the client the Play/Pause/Stop helpers simulate for user u.
func defaultPlayer(u *account) player {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	h := h64(uint64(u.ID), 17)
	b := make([]byte, 24)
	for i := range b {
		b[i] = alphabet[h%uint64(len(alphabet))]
		h = h64(h, uint64(i))
	}
	return player{id: string(b), title: "Plex Web (Chrome)", local: true, address: "192.168.1.10"}
}

func (s *Server) findSession(u *account, idx int32, clientID string) (int, *session) {
	for i, ss := range s.sessions {
		if ss.user == u && ss.idx == idx && ss.player.id == clientID {
			return i, ss
		}
	}
	return -1, nil
}

// playbackLocked applies one playback report (a timeline, or a simulated player)
// and returns the webhooks it causes. The caller holds s.mu.
//
// playing/buffering starts a session (media.play) or resumes a paused one
// (media.resume); paused pauses it (media.pause); stopped ends it (media.stop).
// Every report saves the position (and stamps lastViewedAt). Crossing the scrobble
// threshold marks the item watched once per session (media.scrobble) and the resume
// point is dropped when the session stops. A stopped report with no session (how a
// sync tool writes a resume position) saves the position and sends nothing.
func (s *Server) playbackLocked(u *account, idx int32, pl player, state string, offsetMS int64) []delivery {
	now := s.now().Unix()
	it := &s.items[idx]
	dur := int64(it.duration)
	past := dur > 0 && float64(offsetMS) >= s.opts.ScrobbleThreshold*float64(dur)
	i, ss := s.findSession(u, idx, pl.id)
	var events []string

	if state == "stopped" {
		if ss == nil {
			if past {
				s.markWatched(u, idx, now)
			} else {
				s.setOffset(u, idx, offsetMS, now)
			}
			return nil
		}
		if past && !ss.scrobbled {
			ss.scrobbled = true
			s.markWatched(u, idx, now)
			events = append(events, "media.scrobble")
		}
		if ss.scrobbled {
			st := u.states[idx]
			st.viewOffset = 0
			s.setState(u, idx, st)
		} else {
			s.setOffset(u, idx, offsetMS, now)
		}
		s.sessions = append(s.sessions[:i], s.sessions[i+1:]...)
		events = append(events, "media.stop")
		return s.webhooksLocked(events, u, idx, pl)
	}

	if ss == nil {
		s.nextSession++
		ss = &session{key: s.nextSession, user: u, idx: idx, player: pl, state: "playing"}
		s.sessions = append(s.sessions, ss)
		events = append(events, "media.play")
		if state == "paused" {
			ss.state = "paused"
			events = append(events, "media.pause")
		}
	} else {
		switch {
		case state == "paused" && ss.state != "paused":
			events = append(events, "media.pause")
		case state != "paused" && ss.state == "paused":
			events = append(events, "media.resume")
		}
		ss.state = state
		if state == "buffering" {
			ss.state = "playing"
		}
	}
	ss.offset = offsetMS
	s.setOffset(u, idx, offsetMS, now)
	if past && !ss.scrobbled {
		ss.scrobbled = true
		s.markWatched(u, idx, now)
		// The position of a scrobbled session is still tracked until it stops.
		s.setOffset(u, idx, offsetMS, now)
		events = append(events, "media.scrobble")
	}
	return s.webhooksLocked(events, u, idx, pl)
}

// simulate runs one simulated player action for the public helpers.
func (s *Server) simulate(ctx context.Context, user, ratingKey, state string, offset time.Duration) error {
	if offset < 0 {
		return fmt.Errorf("plex fake: %s %q on %q: negative offset %v", state, user, ratingKey, offset)
	}
	s.mu.Lock()
	u, err := s.findUser(user)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	idx, err := s.playable(ratingKey)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	d := s.playbackLocked(u, idx, defaultPlayer(u), state, offset.Milliseconds())
	s.mu.Unlock()
	return s.deliver(ctx, d)
}

// Play starts (media.play) or resumes (media.resume) user's playback of an item at
// offset, as a player would, and sends the webhooks. Reaching the scrobble threshold
// also scrobbles (media.scrobble).
func (s *Server) Play(ctx context.Context, user, ratingKey string, offset time.Duration) error {
	return s.simulate(ctx, user, ratingKey, "playing", offset)
}

// Pause pauses user's playback at offset (media.pause), starting a session first
// (media.play) if there is none.
func (s *Server) Pause(ctx context.Context, user, ratingKey string, offset time.Duration) error {
	return s.simulate(ctx, user, ratingKey, "paused", offset)
}

// Stop ends user's playback at offset (media.stop). Without a session it only saves
// the position, like a timeline report from a sync tool.
func (s *Server) Stop(ctx context.Context, user, ratingKey string, offset time.Duration) error {
	return s.simulate(ctx, user, ratingKey, "stopped", offset)
}

// Scrobble is a playback passing the scrobble threshold: one more view,
// lastViewedAt = now, and media.scrobble. Unlike /:/scrobble (mark as played, which
// sends nothing), this is how a watch reaches webhooks.
func (s *Server) Scrobble(ctx context.Context, user, ratingKey string) error {
	s.mu.Lock()
	u, err := s.findUser(user)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	idx, err := s.playable(ratingKey)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	pl := defaultPlayer(u)
	if _, ss := s.findSession(u, idx, pl.id); ss != nil {
		if ss.scrobbled {
			s.mu.Unlock()
			return nil
		}
		ss.scrobbled = true
	}
	s.markWatched(u, idx, s.now().Unix())
	d := s.webhooksLocked([]string{"media.scrobble"}, u, idx, pl)
	s.mu.Unlock()
	return s.deliver(ctx, d)
}

// Emit sends an arbitrary event (e.g. "media.rate", "library.on.deck") about an item
// for user to the configured webhooks, in the shape the fake gives its own events.
func (s *Server) Emit(ctx context.Context, event, user, ratingKey string) error {
	s.mu.Lock()
	u, err := s.findUser(user)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	idx, ok := s.lookup(ratingKey)
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("plex fake: Emit: no item with ratingKey %q", ratingKey)
	}
	d := s.webhooksLocked([]string{event}, u, idx, defaultPlayer(u))
	s.mu.Unlock()
	return s.deliver(ctx, d)
}

// Session is a playback in progress.
type Session struct {
	SessionKey string
	User       string // title
	RatingKey  string
	ClientID   string
	State      string // playing, paused
	OffsetMS   int64
}

// Sessions lists the playbacks in progress.
func (s *Server) Sessions() []Session {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		out = append(out, Session{
			SessionKey: strconv.Itoa(ss.key), User: ss.user.Title, RatingKey: strconv.FormatInt(s.rk(ss.idx), 10),
			ClientID: ss.player.id, State: ss.state, OffsetMS: ss.offset,
		})
	}
	return out
}

// writeSessionParts writes the User, Player and Session objects of a session item.
func (s *Server) writeSessionParts(e *enc, ss *session) {
	e.object("User")
	e.str("id", strconv.Itoa(ss.user.localID()))
	e.str("thumb", avatarURL(ss.user))
	e.str("title", ss.user.Title)
	e.close()
	e.object("Player")
	e.str("address", ss.player.address)
	e.str("machineIdentifier", ss.player.id)
	e.str("platform", "Chrome")
	e.str("product", "Plex Web")
	e.str("state", ss.state)
	e.str("title", ss.player.title)
	e.boolean("local", ss.player.local)
	e.boolean("relayed", false)
	e.boolean("secure", false)
	e.num("userID", int64(ss.user.localID()))
	e.close()
	e.object("Session")
	e.str("id", fmt.Sprintf("%024x", h64(uint64(ss.key), 19)))
	e.num("bandwidth", 10000)
	if ss.player.local {
		e.str("location", "lan")
	} else {
		e.str("location", "wan")
	}
	e.close()
}

func avatarURL(u *account) string {
	return "https://plex.tv/users/" + u.UUID + "/avatar?c=" + strconv.FormatUint(h64(uint64(u.ID))%2_000_000_000, 10)
}
