package client

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// TicksPerMillisecond: positions and runtimes are .NET ticks of 100 ns.
const TicksPerMillisecond = 10_000

// Duration converts ticks to a duration (ticks are 100 ns, so this is exact).
func Duration(ticks int64) time.Duration { return time.Duration(ticks) * 100 }

// Ticks converts a duration to ticks, truncating below 100 ns.
func Ticks(d time.Duration) int64 { return int64(d / 100) }

// Time is a date as the servers write it: ISO-8601 with or without a zone (values without
// one are UTC: Jellyfin writes DateTimeKind.Unspecified database values bare), up to 7
// fractional digits. .NET's DateTime.MinValue ("0001-01-01T00:00:00.0000000Z", Jellyfin's
// "never") and null decode to the zero Time.
type Time struct{ time.Time }

// UnmarshalJSON implements json.Unmarshaler.
func (t *Time) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		t.Time = time.Time{}
		return nil
	}
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("date %s is not a string", b)
	}
	v, err := ParseTime(string(b[1 : len(b)-1]))
	if err != nil {
		return err
	}
	t.Time = v
	return nil
}

// ParseTime parses a server date; the empty string and DateTime.MinValue are the zero time.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Year() <= 1 {
				return time.Time{}, nil
			}
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("date %q is not ISO-8601", s)
}

// Item is the part of BaseItemDto the sync reads.
type Item struct {
	ID                string `json:"Id"`
	Name              string
	Type              string // Movie, Episode, Series, Season, CollectionFolder, ...
	ProductionYear    int
	Path              string
	RunTimeTicks      int64
	IndexNumber       int // episode number
	ParentIndexNumber int // season number
	SeriesName        string
	SeriesID          string            `json:"SeriesId"`
	CollectionType    string            // libraries: movies, tvshows, music, ... ("" = mixed)
	ProviderIDs       map[string]string `json:"ProviderIds"`
	UserData          *UserData
}

// UserData is UserItemDataDto. Jellyfin writes ItemId as all zeros in lists, so it is not
// read; Played and PlayCount are independent (PlayCount 9 with Played false is real).
type UserData struct {
	PlaybackPositionTicks int64
	PlayCount             int
	IsFavorite            bool
	Played                bool
	LastPlayedDate        Time
}

// Page is QueryResult<BaseItemDto>. Emby's has no StartIndex.
type Page struct {
	Items            []Item
	TotalRecordCount int
}

// SystemInfo is the part of /System/Info the backends use.
type SystemInfo struct {
	ID         string `json:"Id"`
	ServerName string
	Version    string
}

// User is the part of UserDto the backends use.
type User struct {
	ID     string `json:"Id"`
	Name   string
	Policy struct {
		IsAdministrator bool
		IsDisabled      bool
	}
}

// Session is the part of SessionInfo that says who plays what now.
type Session struct {
	ID              string `json:"Id"`
	UserID          string `json:"UserId"`
	UserName        string
	AdditionalUsers []struct {
		UserID string `json:"UserId"`
	}
	NowPlayingItem *struct {
		ID string `json:"Id"`
	}
}

// Playing reports whether the session plays itemID for userID (the session's user or one
// watching with them).
func (s Session) Playing(userID, itemID string) bool {
	if s.NowPlayingItem == nil || !SameID(s.NowPlayingItem.ID, itemID) {
		return false
	}
	if SameID(s.UserID, userID) {
		return true
	}
	for _, a := range s.AdditionalUsers {
		if SameID(a.UserID, userID) {
			return true
		}
	}
	return false
}

// SameID compares ids the way the servers do: Guids case-insensitively and with or without
// dashes (Jellyfin parses every Guid form), numeric Emby ids as strings.
func SameID(a, b string) bool {
	if a == b {
		return true
	}
	return strings.EqualFold(strings.ReplaceAll(a, "-", ""), strings.ReplaceAll(b, "-", ""))
}

// UserDataUpdate is UpdateUserItemDataDto: only the fields set are sent, and the server
// copies them without applying its resume rules.
type UserDataUpdate struct {
	PlaybackPositionTicks *int64 `json:",omitempty"`
	Played                *bool  `json:",omitempty"`
}
