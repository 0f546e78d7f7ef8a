package fake

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// State is one user's play state of one item, as PMS reports it to that user's token.
// Zero values are the keys PMS leaves out.
type State struct {
	ViewCount    int
	ViewOffsetMS int64 // resume position, ms
	LastViewedAt int64 // epoch seconds
}

func (v viewState) public() State {
	return State{ViewCount: int(v.viewCount), ViewOffsetMS: int64(v.viewOffset), LastViewedAt: v.lastViewedAt}
}

// findUser resolves a user reference: title, username, uuid, plex.tv id, or either
// token. The caller holds s.mu.
func (s *Server) findUser(ref string) (*account, error) {
	for _, a := range s.accounts {
		if ref == a.Title || (a.Username != "" && ref == a.Username) || ref == a.UUID ||
			ref == a.ServerToken || ref == a.PlexTVToken || ref == strconv.Itoa(a.ID) {
			return a, nil
		}
	}
	return nil, fmt.Errorf("plex fake: no user %q; use a title, username, uuid, plex.tv id or token of a configured user", ref)
}

// playable resolves ratingKey to a movie or episode. The caller holds s.mu.
func (s *Server) playable(ratingKey string) (int32, error) {
	idx, ok := s.lookup(ratingKey)
	if !ok {
		return 0, fmt.Errorf("plex fake: no item with ratingKey %q", ratingKey)
	}
	if k := s.items[idx].kind; k != kindMovie && k != kindEpisode {
		return 0, fmt.Errorf("plex fake: ratingKey %q is a %s; play state lives on movies and episodes", ratingKey, k)
	}
	return idx, nil
}

// leaves returns idx itself for a movie or episode, and every episode under a show or
// season (scrobbling a show marks all its episodes).
func (s *Server) leaves(idx int32) []int32 {
	it := &s.items[idx]
	if it.kind == kindMovie || it.kind == kindEpisode {
		return []int32{idx}
	}
	var out []int32
	for _, c := range it.ext.children {
		out = append(out, s.leaves(c)...)
	}
	return out
}

func (s *Server) setState(u *account, idx int32, st viewState) {
	if st == (viewState{}) {
		delete(u.states, idx)
	} else {
		u.states[idx] = st
	}
	u.version++
}

// markWatched is PMS's scrobble: one more view, dated at, and the resume point goes.
func (s *Server) markWatched(u *account, idx int32, at int64) {
	st := u.states[idx]
	st.viewCount++
	st.lastViewedAt = at
	st.viewOffset = 0
	s.setState(u, idx, st)
}

// markUnwatched is PMS's unscrobble: the view count, the date and the resume point
// all go, so the keys disappear from responses.
func (s *Server) markUnwatched(u *account, idx int32) {
	s.setState(u, idx, viewState{})
}

// setOffset records a resume position. PMS stamps lastViewedAt on progress too, which
// is why in-progress items carry lastViewedAt without viewCount.
func (s *Server) setOffset(u *account, idx int32, offsetMS int64, at int64) {
	st := u.states[idx]
	if offsetMS <= 0 {
		st.viewOffset = 0
	} else {
		st.viewOffset = int32(min(offsetMS, int64(s.items[idx].duration)))
		st.lastViewedAt = at
	}
	s.setState(u, idx, st)
}

// State returns user's state of the item with ratingKey.
func (s *Server) State(user, ratingKey string) (State, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, err := s.findUser(user)
	if err != nil {
		return State{}, err
	}
	idx, err := s.playable(ratingKey)
	if err != nil {
		return State{}, err
	}
	return u.states[idx].public(), nil
}

// SetState replaces user's state of an item, as a test fixture (no webhook, no
// request). Fields are stored as given: a LastViewedAt without a ViewCount is a
// valid in-progress state.
func (s *Server) SetState(user, ratingKey string, st State) error {
	if st.ViewCount < 0 || st.ViewOffsetMS < 0 || st.LastViewedAt < 0 {
		return fmt.Errorf("plex fake: SetState %q on %q: negative field in %+v", user, ratingKey, st)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.findUser(user)
	if err != nil {
		return err
	}
	idx, err := s.playable(ratingKey)
	if err != nil {
		return err
	}
	s.setState(u, idx, viewState{viewCount: int32(st.ViewCount), viewOffset: int32(st.ViewOffsetMS), lastViewedAt: st.LastViewedAt})
	return nil
}

// MarkWatched sets an item watched for user at the given time, as if played on some
// other day: one more view, lastViewedAt = at, no resume point. Unlike /:/scrobble
// (which always uses the server's clock) it takes a date, for test setup. A show or
// season marks all its episodes.
func (s *Server) MarkWatched(user, ratingKey string, at time.Time) error {
	return s.eachLeaf(user, ratingKey, func(u *account, l int32) { s.markWatched(u, l, at.Unix()) })
}

// MarkUnwatched clears user's state of an item (and of a show's or season's episodes).
func (s *Server) MarkUnwatched(user, ratingKey string) error {
	return s.eachLeaf(user, ratingKey, s.markUnwatched)
}

// eachLeaf calls f under the lock for user and every playable item under
// ratingKey (the item itself, or a show's or season's episodes).
func (s *Server) eachLeaf(user, ratingKey string, f func(u *account, leaf int32)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.findUser(user)
	if err != nil {
		return err
	}
	idx, ok := s.lookup(ratingKey)
	if !ok {
		return fmt.Errorf("plex fake: no item with ratingKey %q", ratingKey)
	}
	for _, l := range s.leaves(idx) {
		f(u, l)
	}
	return nil
}

// SetProgress sets user's resume position of an item, dated at.
func (s *Server) SetProgress(user, ratingKey string, offset time.Duration, at time.Time) error {
	if offset < 0 {
		return fmt.Errorf("plex fake: SetProgress %q on %q: negative offset %v", user, ratingKey, offset)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.findUser(user)
	if err != nil {
		return err
	}
	idx, err := s.playable(ratingKey)
	if err != nil {
		return err
	}
	s.setOffset(u, idx, offset.Milliseconds(), at.Unix())
	return nil
}

// SeedWatched marks a random subset of the movies and episodes watched for user
// (fraction of them, dated over the year before now) and another subset in progress
// (inProgress of them), drawn with seed. It returns the ratingKeys it touched.
func (s *Server) SeedWatched(user string, fraction, inProgress float64, seed int64) (watched, progressed []string, err error) {
	if fraction < 0 || inProgress < 0 || fraction+inProgress > 1 {
		return nil, nil, fmt.Errorf("plex fake: SeedWatched: fractions %v + %v must be ≥ 0 and sum to at most 1", fraction, inProgress)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.findUser(user)
	if err != nil {
		return nil, nil, err
	}
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(u.ID)))
	now := s.now().Unix()
	for idx := range s.items {
		it := &s.items[idx]
		if it.kind != kindMovie && it.kind != kindEpisode {
			continue
		}
		p := rng.Float64()
		at := now - 86400 - rng.Int64N(365*86400)
		switch {
		case p < fraction:
			s.markWatched(u, int32(idx), at)
			watched = append(watched, strconv.FormatInt(s.rk(int32(idx)), 10))
		case p < fraction+inProgress:
			s.setOffset(u, int32(idx), 60_000+rng.Int64N(int64(it.duration)/2), at)
			progressed = append(progressed, strconv.FormatInt(s.rk(int32(idx)), 10))
		}
	}
	return watched, progressed, nil
}
