package jsonfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// library is the whole file, as Apply reads and rewrites it.
type library struct {
	ServerID   string    `json:"server_id"`
	ServerName string    `json:"server_name,omitempty"`
	Accounts   []account `json:"accounts"`
	Libraries  []section `json:"libraries"`
	Items      []item    `json:"items"`
}

// header is everything before "items".
type header struct {
	ServerID   string
	ServerName string
	Accounts   []account
	Libraries  []section
}

type account struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Admin bool   `json:"admin,omitempty"`
}

type section struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type item struct {
	ID         string           `json:"id"`
	Library    string           `json:"library"`
	Kind       string           `json:"kind"`
	Title      string           `json:"title"`
	Year       int              `json:"year,omitempty"`
	GUIDs      []string         `json:"guids,omitempty"`
	Show       *show            `json:"show,omitempty"`
	Season     int              `json:"season,omitempty"`
	Episode    int              `json:"episode,omitempty"`
	DurationMS int64            `json:"duration_ms,omitempty"`
	Plays      map[string]*play `json:"plays,omitempty"` // by account id
}

type show struct {
	ID    string   `json:"id"`
	Title string   `json:"title"`
	GUIDs []string `json:"guids,omitempty"`
}

type play struct {
	Watched    bool      `json:"watched"`
	PlayedAt   time.Time `json:"played_at,omitzero"`
	PlayCount  int       `json:"play_count,omitempty"`
	PositionMS int64     `json:"position_ms,omitempty"`
	Playing    bool      `json:"playing,omitempty"`
	UpdatedAt  time.Time `json:"updated_at,omitzero"`
}

// scan reads the file at path as a stream: it decodes the header, calls
// onHeader once "items" is reached, then calls onItem for each item. It
// stops at the first error either callback returns.
func scan(path string, onHeader func(*header) error, onItem func(*item) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	if err := expectDelim(dec, '{'); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var h header
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		key, _ := tok.(string)
		switch key {
		case "server_id":
			err = dec.Decode(&h.ServerID)
		case "server_name":
			err = dec.Decode(&h.ServerName)
		case "accounts":
			err = dec.Decode(&h.Accounts)
		case "libraries":
			err = dec.Decode(&h.Libraries)
		case "items":
			if err := onHeader(&h); err != nil {
				return err
			}
			if onItem == nil {
				return nil
			}
			if err := expectDelim(dec, '['); err != nil {
				return fmt.Errorf("%s: items: %w", path, err)
			}
			for dec.More() {
				var it item
				if err := dec.Decode(&it); err != nil {
					return fmt.Errorf("%s: item: %w", path, err)
				}
				if err := onItem(&it); err != nil {
					return err
				}
			}
			if err := expectDelim(dec, ']'); err != nil {
				return fmt.Errorf("%s: items: %w", path, err)
			}
			// Keys after "items" would be missed by the header callback.
			if dec.More() {
				return fmt.Errorf(`%s: "items" must be the last key of the file`, path)
			}
			return nil
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return fmt.Errorf("%s: %s: %w", path, key, err)
		}
	}
	// A library without items.
	return onHeader(&h)
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("expected %q, found %v", want, tok)
	}
	return nil
}

func readHeader(path string) (*header, error) {
	var out *header
	err := scan(path, func(h *header) error { out = h; return nil }, nil)
	return out, err
}

func load(path string) (*library, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var lib library
	if err := json.Unmarshal(b, &lib); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &lib, nil
}

// save writes lib beside path and renames it over path, so that a reader
// (an import in progress) sees the old file or the new one, never half.
func save(path string, lib *library) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".library-*.json")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	enc := json.NewEncoder(tmp)
	enc.SetIndent("", " ")
	if err := enc.Encode(lib); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Write stores a library built by code (tests, benchmarks, a demo).
func Write(w io.Writer, serverID string, accounts []Account, items []Item) error {
	lib := library{ServerID: serverID, ServerName: "jsonfile " + serverID,
		Libraries: []section{{ID: "1", Name: "Movies"}, {ID: "2", Name: "Shows"}}}
	for _, a := range accounts {
		lib.Accounts = append(lib.Accounts, account{ID: a.ID, Name: a.Name})
	}
	for _, it := range items {
		x := item{ID: it.ID, Library: "1", Kind: "movie", Title: it.Title, Year: it.Year, GUIDs: it.GUIDs,
			DurationMS: it.Duration.Milliseconds(), Plays: map[string]*play{}}
		if it.ShowTitle != "" {
			x.Library, x.Kind = "2", "episode"
			x.Show = &show{ID: it.ShowID, Title: it.ShowTitle, GUIDs: it.ShowGUIDs}
			x.Season, x.Episode = it.Season, it.Episode
		}
		for acct, p := range it.Plays {
			x.Plays[acct] = &play{Watched: p.Watched, PlayedAt: p.PlayedAt, PlayCount: p.PlayCount,
				PositionMS: p.Position.Milliseconds(), UpdatedAt: p.PlayedAt}
		}
		lib.Items = append(lib.Items, x)
	}
	enc := json.NewEncoder(w)
	return enc.Encode(&lib)
}

// Account and Item describe a library for Write.
type (
	Account struct{ ID, Name string }
	Item    struct {
		ID, Title string
		Year      int
		GUIDs     []string
		Duration  time.Duration
		// Episodes: the show and the numbers.
		ShowID, ShowTitle string
		ShowGUIDs         []string
		Season, Episode   int
		Plays             map[string]Play // by account id
	}
	Play struct {
		Watched   bool
		PlayedAt  time.Time
		PlayCount int
		Position  time.Duration
	}
)

var errStop = errors.New("stop scan")
