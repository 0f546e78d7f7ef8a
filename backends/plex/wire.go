package plex

import (
	"encoding/json"
	"strconv"
	"strings"
)

// The JSON documents PMS answers (Accept: application/json). Only the fields
// keepwatch reads are declared; encoding/json skips the rest.

type container struct {
	MediaContainer mediaContainer `json:"MediaContainer"`
}

type mediaContainer struct {
	Size              int              `json:"size"`
	TotalSize         int              `json:"totalSize"`
	Offset            int              `json:"offset"`
	MachineIdentifier string           `json:"machineIdentifier"`
	FriendlyName      string           `json:"friendlyName"`
	Version           string           `json:"version"`
	Directory         []librarySection `json:"Directory"`
	Metadata          []metadata       `json:"Metadata"`
}

// librarySection is a library section of /library/sections.
type librarySection struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Title string `json:"title"`
}

// metadata is one item of a listing, of /library/metadata, of /status/sessions,
// or a webhook's Metadata.
type metadata struct {
	RatingKey string `json:"ratingKey"`
	// GUID and GUIDs: encoding/json matches keys case-insensitively, so the
	// string "guid" and the array "Guid" must both be declared, or one lands in
	// the other's field and decoding fails (wire-formats §1.5, goplaxt#49).
	GUID  string      `json:"guid"`
	GUIDs []guidEntry `json:"Guid"`

	Type  string `json:"type"`
	Title string `json:"title"`
	Year  int    `json:"year"`
	// Duration, ViewOffset: milliseconds. LastViewedAt: epoch seconds. The
	// state keys are absent when zero (never played, or unscrobbled).
	Duration     int64 `json:"duration"`
	ViewCount    int   `json:"viewCount"`
	ViewOffset   int64 `json:"viewOffset"`
	LastViewedAt int64 `json:"lastViewedAt"`

	GrandparentRatingKey string `json:"grandparentRatingKey"`
	GrandparentGUID      string `json:"grandparentGuid"`
	GrandparentTitle     string `json:"grandparentTitle"`
	ParentIndex          int    `json:"parentIndex"`
	Index                int    `json:"index"`

	// Section fields appear on items of /library/metadata, sessions and
	// webhooks; section listings hoist them to the container.
	LibrarySectionID    flexString `json:"librarySectionID"`
	LibrarySectionTitle string     `json:"librarySectionTitle"`

	// Sessions only: the player's user (PMS-local id: 1 is the owner).
	User *struct {
		ID flexString `json:"id"`
	} `json:"User"`
}

type guidEntry struct {
	ID string `json:"id"`
}

// flexString takes a JSON string or number: librarySectionID is an int in PMS
// answers and a string in payloads relayed by templating tools.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	if string(b) == "null" {
		*f = ""
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = flexString(n.String())
	return nil
}

// localOwnerID is PMS's own id for the server owner (/accounts, sessions, and
// webhooks of many PMS versions), whatever its plex.tv id (wire-formats §1.6).
const localOwnerID = "1"

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// containsWord reports whether the comma-separated list has w ("provides":
// "client,player,pubsub-player").
func containsWord(list, w string) bool {
	for _, p := range strings.Split(list, ",") {
		if strings.TrimSpace(p) == w {
			return true
		}
	}
	return false
}
