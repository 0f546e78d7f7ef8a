package fakeserver

import (
	"time"
)

// userData is one user's state for one item (UserItemData in both servers' source).
type userData struct {
	position  int64 // PlaybackPositionTicks
	playCount int
	favorite  bool
	played    bool
	lastPlay  time.Time // LastPlayedDate; zero = null
	saved     time.Time // when the row was last written (Emby's MinDateLastSavedForUser)
}

// Save reasons (UserDataSaveReason in both servers).
const (
	reasonPlaybackStart    = "PlaybackStart"
	reasonPlaybackProgress = "PlaybackProgress"
	reasonPlaybackFinished = "PlaybackFinished"
	reasonTogglePlayed     = "TogglePlayed"
	reasonUpdateUserData   = "UpdateUserData"
)

// Resume rules: ServerConfiguration defaults in both servers.
const (
	minResumePct             = 5
	maxResumePct             = 90
	minResumeDurationSeconds = 300
)

// baseUserData is the seeded starting state of a generated movie or episode for a user.
func (s *Server) baseUserData(u int, idx int32) userData {
	if idx >= s.layout.generated || !s.layout.kindOf(idx).isVideo() {
		return userData{}
	}
	if s.cfg.PlayedFraction == 0 && s.cfg.ResumeFraction == 0 {
		return userData{}
	}
	h := s.hash(saltData+uint64(u), int64(idx))
	r := float64(h>>11) / (1 << 53)
	var d userData
	switch {
	case r < s.cfg.PlayedFraction:
		d.played = true
		d.playCount = 1 + int(h>>3%3)
	case r < s.cfg.PlayedFraction+s.cfg.ResumeFraction:
		rec := s.generate(idx)
		pct := 10 + int64(h>>5%70)
		d.position = rec.runTicks * pct / 100
		d.playCount = 1
	default:
		return d
	}
	// Millisecond precision like real rows ("2024-11-21T21:04:49.571Z" [obs]).
	d.lastPlay = genPlayedBase.Add(time.Duration(int64(h>>20)%genPlayedSpan)*time.Second + time.Duration(h>>50%1000)*time.Millisecond)
	d.saved = d.lastPlay
	return d
}

// getUserData returns the current state; the caller holds s.mu.
func (s *Server) getUserData(u int, idx int32) userData {
	if m := s.userData[u]; m != nil {
		if d, ok := m[idx]; ok {
			return d
		}
	}
	return s.baseUserData(u, idx)
}

// putUserData stores a row (only touched rows are kept); the caller holds s.mu for writing.
func (s *Server) putUserData(u int, idx int32, d userData) {
	d.saved = s.cfg.Now()
	m := s.userData[u]
	if m == nil {
		m = map[int32]userData{}
		s.userData[u] = m
	}
	m[idx] = d
}

// markPlayed is BaseItem.MarkPlayed(user, datePlayed, resetPosition: true) [src both]:
// PlayCount is incremented only when a date is given, and is at least 1; the position is
// reset; LastPlayedDate = datePlayed ?? existing ?? UtcNow, so marking played without a date
// keeps an old date.
func (s *Server) markPlayed(u int, idx int32, datePlayed *time.Time) userData {
	d := s.getUserData(u, idx)
	if datePlayed != nil {
		d.playCount++
	}
	if d.playCount < 1 {
		d.playCount = 1
	}
	d.position = 0
	switch {
	case datePlayed != nil:
		d.lastPlay = datePlayed.UTC()
	case d.lastPlay.IsZero():
		d.lastPlay = s.cfg.Now().UTC()
	}
	d.played = true
	s.putUserData(u, idx, d)
	return s.getUserData(u, idx)
}

// markUnplayed is BaseItem.MarkUnplayed [src]: everything about watching is cleared.
func (s *Server) markUnplayed(u int, idx int32) userData {
	d := s.getUserData(u, idx)
	d.position = 0
	d.playCount = 0
	d.lastPlay = time.Time{}
	d.played = false
	s.putUserData(u, idx, d)
	return s.getUserData(u, idx)
}

// userDataUpdate is UpdateUserItemDataDto: only the fields present are applied, and no
// resume rules run (UserDataManager.SaveUserData(user, item, dto, reason) [src]).
type userDataUpdate struct {
	position  *int64
	playCount *int
	favorite  *bool
	played    *bool
	lastPlay  *time.Time
}

func (s *Server) updateUserData(u int, idx int32, up userDataUpdate) userData {
	d := s.getUserData(u, idx)
	if up.position != nil {
		d.position = *up.position
	}
	if up.playCount != nil {
		d.playCount = *up.playCount
	}
	if up.favorite != nil {
		d.favorite = *up.favorite
	}
	if up.played != nil {
		d.played = *up.played
	}
	if up.lastPlay != nil {
		d.lastPlay = up.lastPlay.UTC()
	}
	s.putUserData(u, idx, d)
	return s.getUserData(u, idx)
}

// applyPlayState is UserDataManager.UpdatePlayState for video [src]: under MinResumePct the
// position is dropped; over MaxResumePct or within a second of the end the item is played
// and the position dropped; items shorter than MinResumeDurationSeconds are played. Returns
// playedToCompletion.
func applyPlayState(d *userData, runTicks int64, reported *int64) bool {
	completed := false
	pos := runTicks
	if reported != nil {
		pos = *reported
	}
	switch {
	case pos > 0 && runTicks > 0:
		pct := float64(pos) / float64(runTicks) * 100
		switch {
		case pct < minResumePct:
			pos = 0
		case pct > maxResumePct || pos >= runTicks-ticksPerSecond:
			pos = 0
			d.played, completed = true, true
		case runTicks/ticksPerSecond < minResumeDurationSeconds:
			pos = 0
			d.played, completed = true, true
		}
	case runTicks <= 0:
		// Unknown runtime: the server has to assume it was fully played.
		d.played, completed = true, true
		pos = 0
	}
	d.position = pos
	return completed
}

// playStart is SessionManager.OnPlaybackStart(user, item) [src]: a play is counted when it
// starts, and LastPlayedDate moves to now. Video items keep their Played flag.
func (s *Server) playStart(u int, idx int32) userData {
	d := s.getUserData(u, idx)
	d.playCount++
	d.lastPlay = s.cfg.Now().UTC()
	s.putUserData(u, idx, d)
	return d
}

// playProgress is OnPlaybackProgress: the resume rules run on every check-in, so an item
// reported past 90 % is marked played before playback stops.
func (s *Server) playProgress(u int, idx int32, pos int64) userData {
	r, _ := s.item(idx)
	d := s.getUserData(u, idx)
	applyPlayState(&d, r.runTicks, &pos)
	s.putUserData(u, idx, d)
	return d
}

// playStop is OnPlaybackStopped [src]: with a position the resume rules decide; without one
// the server assumes the item was watched to the end and counts another play.
func (s *Server) playStop(u int, idx int32, pos *int64) (userData, bool) {
	r, _ := s.item(idx)
	d := s.getUserData(u, idx)
	var completed bool
	if pos != nil {
		completed = applyPlayState(&d, r.runTicks, pos)
	} else {
		d.playCount++
		d.played = true
		d.position = 0
		completed = true
	}
	s.putUserData(u, idx, d)
	return d, completed
}

// folderCounts: UnplayedItemCount and Played for a series or season (all videos played).
func (s *Server) folderCounts(u int, folder int32) (unplayed, total int) {
	s.forEachDescendant(folder, func(c int32) bool {
		if s.kindOf(c).isVideo() {
			total++
			if !s.getUserData(u, c).played {
				unplayed++
			}
		}
		return true
	})
	return unplayed, total
}
