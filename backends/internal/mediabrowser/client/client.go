package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/keepwatch/keepwatch/backends/internal/httpx"
)

// Flavor says which server a Client talks to.
type Flavor uint8

const (
	Jellyfin Flavor = iota + 1
	Emby
)

func (f Flavor) String() string {
	if f == Emby {
		return "emby"
	}
	return "jellyfin"
}

// Options configure a Client.
type Options struct {
	Flavor Flavor
	// BaseURL is the server URL as configured ("http://jellyfin:8096", a reverse-proxy
	// path like "https://host/jellyfin" works too).
	BaseURL string
	// PathPrefix is put between BaseURL and every route: Emby's "/emby". Empty for none.
	PathPrefix string
	// Token is an API key or a user's access token. Secret.
	Token string
	// DeviceID names this client to the server (sessions and the devices list).
	DeviceID string
	// Version is keepwatch's version, for the authorization header.
	Version string
	// ISODatePlayed sends Jellyfin's datePlayed as ISO-8601 instead of yyyyMMddHHmmss
	// (Jellyfin takes both; Emby only the compact form, so Emby ignores this).
	ISODatePlayed bool
	// HTTP configures the underlying httpx client.
	HTTP httpx.Options
}

// route generations of Jellyfin.
const (
	routesUnknown int32 = iota
	routesModern        // 10.9+: /UserPlayedItems, /UserItems, /UserViews, /Items?userId=
	routesLegacy        // before 10.9: /Users/{userId}/...
)

// Client talks to one Jellyfin or Emby server.
type Client struct {
	flavor   Flavor
	base     string
	auth     string
	token    string
	isoDates bool
	http     *httpx.Client
	routes   atomic.Int32
}

// New builds a Client. BaseURL must be an absolute http(s) URL; callers validate it.
func New(o Options) *Client {
	base := strings.TrimRight(o.BaseURL, "/") + "/" + strings.Trim(o.PathPrefix, "/")
	base = strings.TrimRight(base, "/")
	device := o.DeviceID
	if device == "" {
		device = "keepwatch"
	}
	version := o.Version
	if version == "" {
		version = "1.0.0"
	}
	// The MediaBrowser scheme is what Jellyfin 10.11+ reads first and the only form Jellyfin
	// 12 accepts by default; values are quoted and URL-encoded as the official SDKs do.
	auth := fmt.Sprintf(`MediaBrowser Client="keepwatch", Device="keepwatch", DeviceId="%s", Version="%s", Token="%s"`,
		url.QueryEscape(device), url.QueryEscape(version), url.QueryEscape(o.Token))
	return &Client{flavor: o.Flavor, base: base, auth: auth, token: o.Token, isoDates: o.ISODatePlayed, http: httpx.New(o.HTTP)}
}

// Flavor is the server kind.
func (c *Client) Flavor() Flavor { return c.flavor }

// request is one call before it is sent.
type request struct {
	method string
	path   string // already escaped
	query  url.Values
	body   any
}

func (c *Client) url(r request) string {
	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	return u
}

func (c *Client) send(ctx context.Context, r request) (*http.Response, error) {
	h := http.Header{}
	h.Set("Authorization", c.auth)
	if c.flavor == Emby {
		// Emby documents X-Emby-Token; whether 4.9 still reads the MediaBrowser scheme is
		// unconfirmed (wire-formats §8), so both go.
		h.Set("X-Emby-Token", c.token)
	}
	h.Set("Accept", "application/json")
	var body []byte
	if r.body != nil {
		var err error
		if body, err = json.Marshal(r.body); err != nil {
			return nil, fmt.Errorf("encode %s body: %w", r.path, err)
		}
		h.Set("Content-Type", "application/json")
	}
	idempotent := r.method != http.MethodPost || r.body != nil // a POST of UserData sets, it does not add
	if r.method == http.MethodPost && strings.Contains(r.path, "PlayedItems") {
		// Marking played with a date counts a play: repeating it after a lost answer would
		// count two. Only 429/503 (not processed) are retried.
		idempotent = false
	}
	return c.http.Do(ctx, httpx.Request{Method: r.method, URL: c.url(r), Header: h, Body: body, Idempotent: idempotent})
}

// do sends r, or on Jellyfin the modern route with the legacy one as a fallback, and
// decodes a JSON answer into out (nil: the body is discarded).
func (c *Client) do(ctx context.Context, modern, legacy request, out any) error {
	resp, err := c.route(ctx, modern, legacy)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", legacy.method, httpx.Redact(c.url(legacy)), err)
	}
	return nil
}

// route picks the route generation. Emby has only the legacy forms. Jellyfin tries the 10.9+
// route until one has answered; a 404 before that may mean a server older than 10.9, so the
// legacy route is tried and, when it answers, used from then on. Once the modern routes have
// answered, a 404 means what it says (no such item) and is not retried.
func (c *Client) route(ctx context.Context, modern, legacy request) (*http.Response, error) {
	if c.flavor == Emby || modern.path == "" {
		return c.send(ctx, legacy)
	}
	mode := c.routes.Load()
	if mode != routesLegacy {
		resp, err := c.send(ctx, modern)
		if err == nil {
			c.routes.CompareAndSwap(routesUnknown, routesModern)
			return resp, nil
		}
		if mode == routesModern || !httpx.IsStatus(err, http.StatusNotFound) {
			return nil, err
		}
	}
	resp, err := c.send(ctx, legacy)
	if err == nil && mode == routesUnknown {
		c.routes.CompareAndSwap(routesUnknown, routesLegacy)
	}
	return resp, err
}

func esc(s string) string { return url.PathEscape(s) }

// SystemInfo is GET /System/Info (needs a valid token, so it also checks the credentials).
func (c *Client) SystemInfo(ctx context.Context) (SystemInfo, error) {
	var out SystemInfo
	err := c.do(ctx, request{}, request{method: http.MethodGet, path: "/System/Info"}, &out)
	return out, err
}

// Users lists the server's accounts (administrator rights needed): Jellyfin GET /Users, Emby
// GET /Users/Query (GET /Users is served by Emby but not documented).
func (c *Client) Users(ctx context.Context) ([]User, error) {
	if c.flavor == Emby {
		var out struct{ Items []User }
		err := c.do(ctx, request{}, request{method: http.MethodGet, path: "/Users/Query"}, &out)
		return out.Items, err
	}
	var out []User
	err := c.do(ctx, request{}, request{method: http.MethodGet, path: "/Users"}, &out)
	return out, err
}

// Views lists a user's libraries.
func (c *Client) Views(ctx context.Context, userID string) ([]Item, error) {
	var out Page
	modern := request{method: http.MethodGet, path: "/UserViews", query: url.Values{"userId": {userID}}}
	legacy := request{method: http.MethodGet, path: "/Users/" + esc(userID) + "/Views"}
	err := c.do(ctx, modern, legacy, &out)
	return out.Items, err
}

// Query selects items for Items.
type Query struct {
	ParentID   string   // a library (or series) id; empty: everything
	Types      []string // IncludeItemTypes
	Fields     []string
	Filters    []string // IsPlayed, IsResumable, ...
	SortBy     string
	SortOrder  string // Ascending, Descending
	IDs        []string
	NoUserData bool
	StartIndex int
	Limit      int // 0: the server's default (everything)
	// MaxLimit, for EachPage: after each page Limit doubles, up to MaxLimit,
	// so that a read that may stop early (newest first) starts small. 0: Limit
	// stays.
	MaxLimit int
}

func (c *Client) values(q Query) url.Values {
	v := url.Values{}
	v.Set("Recursive", "true")
	if q.ParentID != "" {
		v.Set("ParentId", q.ParentID)
	}
	if len(q.Types) > 0 {
		v.Set("IncludeItemTypes", strings.Join(q.Types, ","))
	}
	fields := q.Fields
	if c.flavor == Emby && !q.NoUserData {
		// Emby 4.8+ omits UserData.LastPlayedDate and zeroes PlayCount in lists unless asked.
		fields = append(fields[:len(fields):len(fields)], "UserDataLastPlayedDate", "UserDataPlayCount")
	}
	if len(fields) > 0 {
		v.Set("Fields", strings.Join(fields, ","))
	}
	if len(q.Filters) > 0 {
		v.Set("Filters", strings.Join(q.Filters, ","))
	}
	if q.SortBy != "" {
		v.Set("SortBy", q.SortBy)
	}
	if q.SortOrder != "" {
		v.Set("SortOrder", q.SortOrder)
	}
	if len(q.IDs) > 0 {
		v.Set("Ids", strings.Join(q.IDs, ","))
	}
	v.Set("EnableUserData", strconv.FormatBool(!q.NoUserData))
	if q.StartIndex > 0 {
		v.Set("StartIndex", strconv.Itoa(q.StartIndex))
	}
	if q.Limit > 0 {
		v.Set("Limit", strconv.Itoa(q.Limit))
	}
	return v
}

// Items runs one item query for a user ("" runs it for no user, without user data).
func (c *Client) Items(ctx context.Context, userID string, q Query) (Page, error) {
	var out Page
	v := c.values(q)
	if userID == "" {
		return out, c.do(ctx, request{}, request{method: http.MethodGet, path: "/Items", query: v}, &out)
	}
	mv := url.Values{"userId": {userID}}
	for k, vs := range v {
		mv[k] = vs
	}
	modern := request{method: http.MethodGet, path: "/Items", query: mv}
	legacy := request{method: http.MethodGet, path: "/Users/" + esc(userID) + "/Items", query: v}
	return out, c.do(ctx, modern, legacy, &out)
}

// EachPage runs q page by page (Limit items each, doubling up to MaxLimit when set, from
// q.StartIndex) and hands every non-empty page to fn, until the server has no more or fn
// answers stop or an error.
func (c *Client) EachPage(ctx context.Context, userID string, q Query, fn func(p Page) (stop bool, err error)) error {
	if q.Limit <= 0 {
		return fmt.Errorf("client: EachPage needs a Limit")
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		p, err := c.Items(ctx, userID, q)
		if err != nil {
			return err
		}
		if len(p.Items) == 0 {
			return nil
		}
		stop, err := fn(p)
		if err != nil || stop {
			return err
		}
		q.StartIndex += len(p.Items)
		// The total decides when the server gives it: a server that caps Limit below what
		// was asked must not end the listing early.
		if p.TotalRecordCount > 0 {
			if q.StartIndex >= p.TotalRecordCount {
				return nil
			}
		} else if len(p.Items) < q.Limit {
			return nil
		}
		if q.MaxLimit > q.Limit {
			q.Limit = min(q.Limit*2, q.MaxLimit)
		}
	}
}

// Item reads one item with the user's data.
func (c *Client) Item(ctx context.Context, userID, itemID string) (Item, error) {
	var out Item
	modern := request{method: http.MethodGet, path: "/Items/" + esc(itemID), query: url.Values{"userId": {userID}}}
	legacy := request{method: http.MethodGet, path: "/Users/" + esc(userID) + "/Items/" + esc(itemID)}
	return out, c.do(ctx, modern, legacy, &out)
}

// DatePlayed formats a play date for /PlayedItems: yyyyMMddHHmmss in UTC (the only form
// Emby parses, and the first one Jellyfin's LegacyDateTimeModelBinder tries), or ISO-8601
// for Jellyfin when ISODatePlayed is set.
func (c *Client) DatePlayed(t time.Time) string {
	if c.flavor == Jellyfin && c.isoDates {
		return t.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	return t.UTC().Format("20060102150405")
}

// MarkPlayed marks an item played, at date when it is not zero. Without a date the servers
// keep an older LastPlayedDate (BaseItem.MarkPlayed).
func (c *Client) MarkPlayed(ctx context.Context, userID, itemID string, date time.Time) error {
	mq, lq := url.Values{"userId": {userID}}, url.Values{}
	if !date.IsZero() {
		name := "datePlayed"
		if c.flavor == Emby {
			name = "DatePlayed"
		}
		mq.Set(name, c.DatePlayed(date))
		lq.Set(name, c.DatePlayed(date))
	}
	modern := request{method: http.MethodPost, path: "/UserPlayedItems/" + esc(itemID), query: mq}
	legacy := request{method: http.MethodPost, path: "/Users/" + esc(userID) + "/PlayedItems/" + esc(itemID), query: lq}
	return c.do(ctx, modern, legacy, nil)
}

// MarkUnplayed marks an item unplayed; the servers also clear the date, play count and
// position.
func (c *Client) MarkUnplayed(ctx context.Context, userID, itemID string) error {
	modern := request{method: http.MethodDelete, path: "/UserPlayedItems/" + esc(itemID), query: url.Values{"userId": {userID}}}
	legacy := request{method: http.MethodDelete, path: "/Users/" + esc(userID) + "/PlayedItems/" + esc(itemID)}
	return c.do(ctx, modern, legacy, nil)
}

// UpdateUserData posts UpdateUserItemDataDto. Jellyfin answers the new UserItemDataDto, Emby
// an empty body; neither is needed.
func (c *Client) UpdateUserData(ctx context.Context, userID, itemID string, up UserDataUpdate) error {
	modern := request{method: http.MethodPost, path: "/UserItems/" + esc(itemID) + "/UserData", query: url.Values{"userId": {userID}}, body: up}
	legacy := request{method: http.MethodPost, path: "/Users/" + esc(userID) + "/Items/" + esc(itemID) + "/UserData", body: up}
	return c.do(ctx, modern, legacy, nil)
}

// Sessions lists the sessions (an administrator sees all of them).
func (c *Client) Sessions(ctx context.Context) ([]Session, error) {
	var out []Session
	err := c.do(ctx, request{}, request{method: http.MethodGet, path: "/Sessions"}, &out)
	return out, err
}

// Chunk splits ids into groups of at most n, for Ids= queries that must stay under URL
// length limits.
func Chunk(ids []string, n int) [][]string {
	var out [][]string
	for len(ids) > n {
		out = append(out, ids[:n:n])
		ids = ids[n:]
	}
	if len(ids) > 0 {
		out = append(out, ids)
	}
	return out
}

// LegacyRoutes reports whether the server answered only the legacy /Users/{userId}/... routes
// (a Jellyfin older than 10.9).
func (c *Client) LegacyRoutes() bool { return c.routes.Load() == routesLegacy }
