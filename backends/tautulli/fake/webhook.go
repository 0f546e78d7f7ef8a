package fake

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"time"
)

// The templates a user pastes into Tautulli's Webhook agent, as keepwatch's
// documentation gives them (the seed's "Plex via Tautulli" template).
var (
	//go:embed webhook_data_template.json
	DataTemplate []byte
	//go:embed webhook_headers_template.json
	HeadersTemplate []byte
)

// Event is one notification Tautulli sends.
type Event struct {
	// Action is the trigger without "on_": play, stop, pause, resume,
	// watched, created (recently added), or any other Tautulli action.
	Action string
	// UserID is the acting Plex user; ignored for "created", which names
	// no user.
	UserID    int64
	RatingKey int64
	// ViewOffset is the stream position ({view_offset}, ms on the wire).
	ViewOffset time.Duration
}

// Params are the notification parameters Tautulli substitutes into the
// templates for ev: a subset of its ~300, every one the template uses.
// Values follow Tautulli's notification_handler: for an episode
// {imdb_id}/{themoviedb_id}/{thetvdb_id} are the SHOW's ids and
// {show_year} the show's year; for a movie {show_name} and {show_year} are
// "" and {season_num}/{episode_num} are "0" (str(”).zfill(1)); {tvmaze_id}
// is "" (the TVmaze lookup is off by default); dates are formatted with
// the default DATE_FORMAT YYYY-MM-DD in the server's zone.
func (s *Server) Params(ev Event) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.byKey[ev.RatingKey]
	if !ok {
		return nil, fmt.Errorf("fake tautulli: no item with rating key %d", ev.RatingKey)
	}
	it := s.items[i]
	var u User
	if ev.Action != "created" {
		found := false
		for _, x := range s.users {
			if x.ID == ev.UserID {
				u, found = x, true
			}
		}
		if !found {
			return nil, fmt.Errorf("fake tautulli: no user %d", ev.UserID)
		}
	}
	date := func(t time.Time) string { return t.In(s.opts.Location).Format(time.DateOnly) }
	p := map[string]string{
		"action": ev.Action, "tautulli_version": TautulliVersion,
		"server_name": s.opts.ServerName, "server_machine_id": s.opts.MachineID, "server_version": PlexVersion,
		"user_id": "", "username": "", "user_thumb": "", "stream_local": "", "ip_address": "", "player": "", "machine_id": "",
		"rating_key": strconv.FormatInt(it.RatingKey, 10), "parent_rating_key": "", "grandparent_rating_key": "",
		"guid": it.GUID, "media_type": it.Type, "episode_name": it.Title, "library_name": s.sectionName(it.SectionID),
		"section_id": strconv.Itoa(it.SectionID), "show_name": "", "season_name": "", "content_rating": "PG-13",
		"summary": "A fake summary.", "episode_num": "0", "season_num": "0", "audience_rating": "82",
		"view_offset": strconv.FormatInt(ev.ViewOffset.Milliseconds(), 10), "last_viewed_date": "", "show_year": "",
		"poster_thumb": fmt.Sprintf("/library/metadata/%d/thumb", it.RatingKey), "art": fmt.Sprintf("/library/metadata/%d/art", it.RatingKey),
		"parent_thumb": "", "grandparent_thumb": "", "duration_ms": strconv.FormatInt(it.Duration.Milliseconds(), 10),
		"air_date": it.AirDate, "added_date": date(it.AddedAt), "updated_date": date(it.AddedAt), "user_rating": "",
		"imdb_id": it.IMDb, "thetvdb_id": it.TVDb, "themoviedb_id": it.TMDb, "tvmaze_id": "",
		"file": fmt.Sprintf("/media/%s.mkv", fullTitle(it)), "file_size_bytes": strconv.FormatInt(int64(it.Duration.Minutes())*25_000_000, 10),
	}
	if u.ID != 0 {
		p["user_id"], p["username"] = strconv.FormatInt(u.ID, 10), u.Username
		p["user_thumb"] = fmt.Sprintf("https://plex.tv/users/%x/avatar", u.ID)
		p["stream_local"], p["ip_address"], p["player"], p["machine_id"] = "1", "192.168.2.63", "Living Room TV", "lmd93nkn12k29j2lnm"
	}
	if it.Type == "episode" {
		p["parent_rating_key"], p["grandparent_rating_key"] = strconv.FormatInt(it.SeasonRatingKey, 10), strconv.FormatInt(it.ShowRatingKey, 10)
		p["show_name"], p["season_name"] = it.ShowTitle, fmt.Sprintf("Season %d", it.Season)
		p["episode_num"], p["season_num"], p["show_year"] = strconv.Itoa(it.Episode), strconv.Itoa(it.Season), strconv.Itoa(it.Year)
		p["parent_thumb"] = fmt.Sprintf("/library/metadata/%d/thumb", it.SeasonRatingKey)
		p["grandparent_thumb"] = fmt.Sprintf("/library/metadata/%d/thumb", it.ShowRatingKey)
	} else {
		p["air_date"] = fmt.Sprintf("%d-06-15", it.Year)
	}
	return p, nil
}

func (s *Server) sectionName(id int) string {
	for _, sec := range s.sections {
		if sec.ID == id {
			return sec.Name
		}
	}
	return ""
}

// placeholder matches {name}; Tautulli's formatter leaves unknown names as
// they are.
var placeholder = regexp.MustCompile(`\{([a-z0-9_]+)\}`)

// Substitute fills a JSON template the way Tautulli's webhook agent does:
// the template is parsed as JSON and every string (keys too) is formatted
// with params, so each substituted value arrives as a JSON string; null,
// numbers and booleans stay as written, and unknown placeholders stay
// literal.
func Substitute(template []byte, params map[string]string) ([]byte, error) {
	var doc any
	if err := json.Unmarshal(template, &doc); err != nil {
		return nil, fmt.Errorf("fake tautulli: template is not JSON: %w", err)
	}
	format := func(s string) string {
		return placeholder.ReplaceAllStringFunc(s, func(m string) string {
			if v, ok := params[m[1:len(m)-1]]; ok {
				return v
			}
			return m
		})
	}
	var walk func(v any) any
	walk = func(v any) any {
		switch v := v.(type) {
		case string:
			return format(v)
		case map[string]any:
			out := make(map[string]any, len(v))
			for k, x := range v {
				out[format(k)] = walk(x)
			}
			return out
		case []any:
			for i := range v {
				v[i] = walk(v[i])
			}
			return v
		}
		return v
	}
	return json.Marshal(walk(doc))
}

// Webhook builds the body and headers Tautulli would send for ev with the
// embedded templates.
func (s *Server) Webhook(ev Event) (body []byte, header http.Header, err error) {
	params, err := s.Params(ev)
	if err != nil {
		return nil, nil, err
	}
	if body, err = Substitute(DataTemplate, params); err != nil {
		return nil, nil, err
	}
	rawHeaders, err := Substitute(HeadersTemplate, params)
	if err != nil {
		return nil, nil, err
	}
	var hs map[string]string
	if err := json.Unmarshal(rawHeaders, &hs); err != nil {
		return nil, nil, fmt.Errorf("fake tautulli: headers template: %w", err)
	}
	// Tautulli starts from Content-Type application/json and applies the
	// user's headers over it.
	header = http.Header{"Content-Type": {"application/json"}}
	for k, v := range hs {
		header.Set(k, v)
	}
	return body, header, nil
}

// SendWebhook sends ev to url with Options.WebhookMethod (PUT, the method
// the "Plex via Tautulli" guide tells users to pick, unless set), the body
// included whatever the method, as Tautulli's requests.request does, and
// fails on an answer other than 2xx.
func (s *Server) SendWebhook(ctx context.Context, client *http.Client, url string, ev Event) error {
	body, header, err := s.Webhook(ev)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, s.opts.WebhookMethod, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("fake tautulli: webhook request: %w", err)
	}
	req.Header = header
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("fake tautulli: send webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("fake tautulli: webhook answered %s", resp.Status)
	}
	return nil
}
