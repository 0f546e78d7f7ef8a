package fakeserver

import (
	"errors"
	"strconv"
	"strings"
)

// version is a dotted server version, compared component by component ("10.9" == "10.9.0").
type version [4]int

func parseVersion(s string) (version, error) {
	var v version
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) < 2 || len(parts) > 4 {
		return v, errors.New("want 2 to 4 dotted numbers")
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return v, errors.New("component " + strconv.Quote(p) + " is not a number")
		}
		v[i] = n
	}
	return v, nil
}

func mustVersion(s string) version {
	v, err := parseVersion(s)
	if err != nil {
		panic("fakeserver: bad built-in version " + s)
	}
	return v
}

func (v version) atLeast(o version) bool {
	for i := range v {
		if v[i] != o[i] {
			return v[i] > o[i]
		}
	}
	return true
}

// Versions where the servers changed behaviour this fake models.
var (
	// Jellyfin 10.9.0 moved userId from the route to the query (commit 6e5ec99) and added
	// /UserPlayedItems, /UserItems/{id}/UserData, /UserViews and GET /Items/{id}.
	jellyfin109 = mustVersion("10.9.0")
	// Jellyfin 10.11.0 moved the library to EF Core; the SQL builder bug that answered 500 to
	// MinDateLastSaved without MinDateLastSavedForUser went with it.
	jellyfin1011 = mustVersion("10.11.0")
	// Emby 4.2.0.23: MinDateLastSavedForUser starts to look at user data (see doc.go).
	emby4223 = mustVersion("4.2.0.23")
	// Emby 4.8: list responses stop carrying UserData.LastPlayedDate and report PlayCount 0
	// unless Fields asks for UserDataLastPlayedDate / UserDataPlayCount (Emby forum topic
	// 119268 "missing LastPlayedDate when running emby server beta"; Reclaimerr#83/#84,
	// glanceapp/community-widgets#78, capacitarr#25 show both shapes) [3p].
	emby48 = mustVersion("4.8.0.0")
)
