package tautulli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/keepwatch/keepwatch/backends/internal/httpx"
)

// client calls Tautulli's APIv2: GET {base}/api/v2?apikey=…&cmd=…, every
// answer wrapped in {"response":{"result","message","data"}}.
type client struct {
	endpoint string // {base}/api/v2
	apiKey   string
	http     *httpx.Client
}

// apiError is an answer whose result is not "success"; Message is
// Tautulli's own ("Invalid apikey", "Unknown command: …").
type apiError struct {
	Cmd     string
	Message string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("tautulli answered %s with an error: %s", e.Cmd, e.Message)
}

type envelope struct {
	Response *struct {
		Result  string          `json:"result"`
		Message flexString      `json:"message"`
		Data    json.RawMessage `json:"data"`
	} `json:"response"`
}

// call runs cmd with params and decodes the envelope's data into out.
func (c *client) call(ctx context.Context, cmd string, params url.Values, out any) error {
	q := url.Values{}
	for k, v := range params {
		q[k] = v
	}
	q.Set("apikey", c.apiKey)
	q.Set("cmd", cmd)
	resp, err := c.http.Do(ctx, httpx.Request{Method: http.MethodGet, URL: c.endpoint + "?" + q.Encode(), Idempotent: true})
	if err != nil {
		return withEnvelopeMessage(cmd, err)
	}
	defer resp.Body.Close()
	var env envelope
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAnswer)).Decode(&env); err != nil {
		return fmt.Errorf("%s: the answer is not Tautulli's JSON (is the url Tautulli's, with its HTTP root?): %w", cmd, err)
	}
	if env.Response == nil {
		return fmt.Errorf("%s: the answer has no \"response\" object (is the url Tautulli's?)", cmd)
	}
	if env.Response.Result != "success" {
		return &apiError{Cmd: cmd, Message: string(env.Response.Message)}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(env.Response.Data, out); err != nil {
		return fmt.Errorf("%s: decode data: %w", cmd, err)
	}
	return nil
}

// maxAnswer bounds one answer: a get_history page of 10 000 rows is about
// 15 MB.
const maxAnswer = 64 << 20

// withEnvelopeMessage keeps httpx's error (an *AuthError for 401, which is
// how Tautulli answers a wrong key) and adds Tautulli's message from the
// body when there is one.
func withEnvelopeMessage(cmd string, err error) error {
	var se *httpx.StatusError
	if !errors.As(err, &se) || se.Body == "" {
		return fmt.Errorf("%s: %w", cmd, err)
	}
	var env envelope
	if json.Unmarshal([]byte(se.Body), &env) == nil && env.Response != nil && env.Response.Message != "" {
		return fmt.Errorf("%s: %q: %w", cmd, string(env.Response.Message), err)
	}
	return fmt.Errorf("%s: %w", cmd, err)
}

// The shapes of the answers keepwatch reads. Only the fields used are
// declared; every number is flexible (see flex.go).

type userRow struct {
	UserID       flexInt    `json:"user_id"`
	Username     flexString `json:"username"`
	FriendlyName flexString `json:"friendly_name"`
	IsAdmin      flexInt    `json:"is_admin"`
	IsActive     flexInt    `json:"is_active"`
}

type serverInfo struct {
	Identifier flexString `json:"pms_identifier"`
	Name       flexString `json:"pms_name"`
	Version    flexString `json:"pms_version"`
}

type tautulliInfo struct {
	Version flexString `json:"tautulli_version"`
}

type libraryName struct {
	SectionID   flexInt    `json:"section_id"`
	SectionName flexString `json:"section_name"`
	SectionType flexString `json:"section_type"`
}

type historyPage struct {
	RecordsFiltered flexInt      `json:"recordsFiltered"`
	RecordsTotal    flexInt      `json:"recordsTotal"`
	Data            []historyRow `json:"data"`
}

type historyRow struct {
	RowID                flexInt    `json:"row_id"`
	Date                 flexInt    `json:"date"`
	Started              flexInt    `json:"started"`
	Stopped              flexInt    `json:"stopped"`
	UserID               flexInt    `json:"user_id"`
	User                 flexString `json:"user"`
	FriendlyName         flexString `json:"friendly_name"`
	Live                 flexInt    `json:"live"`
	MediaType            flexString `json:"media_type"`
	RatingKey            flexInt    `json:"rating_key"`
	ParentRatingKey      flexInt    `json:"parent_rating_key"`
	GrandparentRatingKey flexInt    `json:"grandparent_rating_key"`
	Title                flexString `json:"title"`
	GrandparentTitle     flexString `json:"grandparent_title"`
	Year                 flexInt    `json:"year"`
	MediaIndex           flexInt    `json:"media_index"`
	ParentMediaIndex     flexInt    `json:"parent_media_index"`
	GUID                 flexString `json:"guid"`
	PercentComplete      flexFloat  `json:"percent_complete"`
	WatchedStatus        flexFloat  `json:"watched_status"`
	GroupCount           flexInt    `json:"group_count"`
}
