package fakeserver

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Server is a fake Jellyfin or Emby server. It is an http.Handler; wrap it in
// httptest.NewServer. All methods are safe for concurrent use.
type Server struct {
	cfg        Config
	ver        version
	layout     layout
	idMask     uint32
	embyIDBase int64
	serverID   string
	apiKey     string
	users      []UserSpec // IDs and tokens filled in
	log        zerolog.Logger
	routes     []*route
	noFastPath bool // tests compare the index-arithmetic query path with the general one

	mu            sync.RWMutex // guards the library and user data below
	userData      []map[int32]userData
	added         []itemRec
	addedChildren map[int32][]int32
	overrides     map[int32]itemOverride
	sessions      []*session

	obsMu    sync.Mutex // guards observation and fault state
	stats    map[string]*RouteStats
	requests []RecordedRequest
	faults   []*faultEntry

	hooks webhookQueue
}

type itemOverride struct {
	lastSaved time.Time
	providers []kv
}

// New builds a server from cfg. It returns an error naming the bad field.
func New(cfg Config) (*Server, error) {
	cfg.applyDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:           cfg,
		addedChildren: map[int32][]int32{},
		overrides:     map[int32]itemOverride{},
		stats:         map[string]*RouteStats{},
		log:           cfg.Logger.With().Str("component", cfg.Flavor.String()+"-fake").Logger(),
	}
	s.ver, _ = parseVersion(cfg.Version)
	s.layout = newLayout(&s.cfg)
	s.idMask = uint32(s.hash(saltItem+4, 0))
	s.embyIDBase = 100000 + int64(s.hash(saltItem+5, 0)%900)*1000
	s.serverID = strings.ToLower(cfg.ServerID)
	if s.serverID == "" {
		s.serverID = s.hex32(saltServer, 0)
	}
	s.apiKey = cfg.APIKey
	if s.apiKey == "" {
		s.apiKey = s.hex32(saltAPIKey, 0)
	}
	for i, u := range cfg.Users {
		if u.ID == "" {
			u.ID = s.hex32(saltUser, int64(i))
		}
		u.ID = strings.ToLower(u.ID)
		if u.Token == "" {
			u.Token = s.hex32(saltToken, int64(i))
		}
		s.users = append(s.users, u)
	}
	s.userData = make([]map[int32]userData, len(s.users))
	s.hooks.init(s)
	s.routes = s.buildRoutes()
	return s, nil
}

// MustNew is New for tests: it panics on a configuration error.
func MustNew(cfg Config) *Server {
	s, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return s
}

// route is one HTTP endpoint.
type route struct {
	method string
	tmpl   string // path template as the vendor spec spells it, e.g. /Users/{userId}/Items
	segs   []string
	auth   bool
	h      func(*reqCtx)
}

// Name is the key used in Stats and faults: "GET /Items".
func (rt *route) name() string { return rt.method + " " + rt.tmpl }

func newRoute(method, tmpl string, auth bool, h func(*reqCtx)) *route {
	return &route{method: method, tmpl: tmpl, segs: strings.Split(strings.Trim(tmpl, "/"), "/"), auth: auth, h: h}
}

// match compares path segments case-insensitively (ASP.NET Core and ServiceStack routing
// both ignore case) and collects {params}.
func (rt *route) match(segs []string) (map[string]string, bool) {
	if len(segs) != len(rt.segs) {
		return nil, false
	}
	var params map[string]string
	for i, p := range rt.segs {
		if strings.HasPrefix(p, "{") {
			if segs[i] == "" {
				return nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			v, err := url.PathUnescape(segs[i])
			if err != nil {
				v = segs[i]
			}
			params[strings.ToLower(strings.Trim(p, "{}"))] = v
			continue
		}
		if !strings.EqualFold(p, segs[i]) {
			return nil, false
		}
	}
	return params, true
}

// queryValues is the query string with case-insensitive names (both servers bind query
// parameters ignoring case: userId, UserId and USERID are one parameter).
type queryValues map[string][]string

func newQueryValues(u *url.URL) queryValues {
	q := queryValues{}
	for k, vs := range u.Query() {
		lk := strings.ToLower(k)
		q[lk] = append(q[lk], vs...)
	}
	return q
}

func (q queryValues) get(k string) string {
	if vs := q[strings.ToLower(k)]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

func (q queryValues) has(k string) bool { return len(q[strings.ToLower(k)]) > 0 }

// list splits comma-separated values and repeated parameters (Jellyfin's
// CommaDelimitedArrayModelBinder accepts both; Emby takes comma lists).
func (q queryValues) list(k string) []string {
	var out []string
	for _, v := range q[strings.ToLower(k)] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// reqCtx carries one request through a handler.
type reqCtx struct {
	s      *Server
	w      http.ResponseWriter
	r      *http.Request
	q      queryValues
	params map[string]string
	body   []byte
	auth   authInfo
	status int
	items  int
}

const maxBody = 1 << 20

// ServeHTTP routes a request like the real server.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.cfg.Now()
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxBody))
	_ = r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))

	path := r.URL.Path
	if s.cfg.Flavor == Emby {
		// Every Emby route also answers under /emby (the spec's server URL is .../emby) [obs].
		if len(path) >= 5 && strings.EqualFold(path[:5], "/emby") && (len(path) == 5 || path[5] == '/') {
			path = path[5:]
		}
	}
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	segs := strings.Split(strings.Trim(path, "/"), "/")
	c := &reqCtx{s: s, w: w, r: r, q: newQueryValues(r.URL), body: body}

	var rt *route
	methodMismatch := false
	for _, cand := range s.routes {
		params, ok := cand.match(segs)
		if !ok {
			continue
		}
		if cand.method != r.Method {
			methodMismatch = true
			continue
		}
		rt, c.params = cand, params
		break
	}
	name := "unmatched"
	switch {
	case rt == nil && methodMismatch:
		c.writeStatus(http.StatusMethodNotAllowed)
	case rt == nil:
		c.writeStatus(http.StatusNotFound)
	default:
		name = rt.name()
		if !s.applyFault(c, rt) {
			s.serveRoute(c, rt)
		}
	}
	s.observe(name, r, body, c, start)
}

func (s *Server) serveRoute(c *reqCtx, rt *route) {
	c.auth = s.authenticate(c.r, c.q)
	if rt.auth && !c.auth.valid {
		if s.cfg.Flavor == Emby {
			c.text(http.StatusUnauthorized, "Access token is invalid or expired.")
		} else {
			c.writeStatus(http.StatusUnauthorized)
		}
		return
	}
	rt.h(c)
}

// Response helpers.

func (c *reqCtx) writeStatus(code int) {
	c.status = code
	c.w.WriteHeader(code)
}

func (c *reqCtx) json(code int, b []byte) {
	c.w.Header().Set("Content-Type", "application/json; charset=utf-8")
	c.status = code
	c.w.WriteHeader(code)
	_, _ = c.w.Write(b)
}

func (c *reqCtx) text(code int, msg string) {
	c.w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	c.status = code
	c.w.WriteHeader(code)
	_, _ = io.WriteString(c.w, msg)
}

// fail answers an error the way each server does: Jellyfin's [ApiController] writes RFC 7807
// ProblemDetails, Emby (ServiceStack) writes the exception message as text.
func (c *reqCtx) fail(code int, msg string) {
	if c.s.cfg.Flavor == Emby {
		c.text(code, msg)
		return
	}
	w := c.s.newJW()
	w.obj()
	w.kstr("type", problemType[code])
	w.kstr("title", http.StatusText(code))
	w.knum("status", int64(code))
	if msg != "" {
		w.kstr("detail", msg)
	}
	w.endObj()
	c.w.Header().Set("Content-Type", "application/problem+json; charset=utf-8")
	c.status = code
	c.w.WriteHeader(code)
	_, _ = c.w.Write(w.b)
}

var problemType = map[int]string{
	400: "https://tools.ietf.org/html/rfc9110#section-15.5.1",
	401: "https://tools.ietf.org/html/rfc9110#section-15.5.2",
	403: "https://tools.ietf.org/html/rfc9110#section-15.5.4",
	404: "https://tools.ietf.org/html/rfc9110#section-15.5.5",
	500: "https://tools.ietf.org/html/rfc9110#section-15.6.1",
}

func (s *Server) newJW() *jw { return &jw{jellyfin: s.cfg.Flavor == Jellyfin} }

// Observation: per-route counters and the request log.

// RouteStats counts what one route served.
type RouteStats struct {
	Requests      int
	ItemsReturned int         // BaseItemDto objects in response bodies
	Statuses      map[int]int // responses by status code
}

// RecordedRequest is one request as the fake received it.
type RecordedRequest struct {
	Time          time.Time
	Method        string
	URL           string // path and query as sent
	Route         string // "GET /Items", or "unmatched"
	Header        http.Header
	Body          []byte
	Status        int
	ItemsReturned int
}

func (s *Server) observe(name string, r *http.Request, body []byte, c *reqCtx, start time.Time) {
	status := c.status
	if status == 0 {
		status = http.StatusOK
	}
	s.obsMu.Lock()
	defer s.obsMu.Unlock()
	st := s.stats[name]
	if st == nil {
		st = &RouteStats{Statuses: map[int]int{}}
		s.stats[name] = st
	}
	st.Requests++
	st.ItemsReturned += c.items
	st.Statuses[status]++
	if !s.cfg.DisableRecording {
		s.requests = append(s.requests, RecordedRequest{
			Time: start, Method: r.Method, URL: r.URL.RequestURI(), Route: name,
			Header: r.Header.Clone(), Body: body, Status: status, ItemsReturned: c.items,
		})
	}
}

// Stats returns a copy of the per-route counters, keyed "METHOD /Template" as the vendor
// spec spells the path (Emby routes without the /emby prefix).
func (s *Server) Stats() map[string]RouteStats {
	s.obsMu.Lock()
	defer s.obsMu.Unlock()
	out := make(map[string]RouteStats, len(s.stats))
	for k, v := range s.stats {
		cp := *v
		cp.Statuses = make(map[int]int, len(v.Statuses))
		for code, n := range v.Statuses {
			cp.Statuses[code] = n
		}
		out[k] = cp
	}
	return out
}

// ItemsReturned is the number of items all responses carried since the last ResetStats.
func (s *Server) ItemsReturned() int {
	s.obsMu.Lock()
	defer s.obsMu.Unlock()
	n := 0
	for _, v := range s.stats {
		n += v.ItemsReturned
	}
	return n
}

// RequestCount is the number of requests since the last ResetStats (all routes, or the
// named ones).
func (s *Server) RequestCount(routes ...string) int {
	s.obsMu.Lock()
	defer s.obsMu.Unlock()
	n := 0
	for k, v := range s.stats {
		if len(routes) == 0 {
			n += v.Requests
			continue
		}
		for _, want := range routes {
			if k == want {
				n += v.Requests
			}
		}
	}
	return n
}

// ResetStats clears the counters and the request log.
func (s *Server) ResetStats() {
	s.obsMu.Lock()
	defer s.obsMu.Unlock()
	s.stats = map[string]*RouteStats{}
	s.requests = nil
}

// Requests returns the recorded requests in arrival order.
func (s *Server) Requests() []RecordedRequest {
	s.obsMu.Lock()
	defer s.obsMu.Unlock()
	return append([]RecordedRequest(nil), s.requests...)
}

// Routes lists the served routes ("GET /Items", ...) sorted, for documentation and tests.
func (s *Server) Routes() []string {
	out := make([]string, 0, len(s.routes))
	for _, rt := range s.routes {
		out = append(out, rt.name())
	}
	sort.Strings(out)
	return out
}

// Fault injection.

// Fault makes matching requests fail or slow down.
type Fault struct {
	// Route is a route name ("GET /Items") or a path template ("/Items"); empty matches all.
	Route string
	// Status is the status to answer with; 0 serves the request normally after Delay.
	Status int
	Body   string
	Header http.Header // e.g. Retry-After for 429
	// Delay holds the request before answering (it ends early when the client gives up).
	Delay time.Duration
	// Times limits the fault to the next N matching requests; 0 means until removed.
	Times int
}

type faultEntry struct {
	f    Fault
	left int
}

// InjectFault installs a fault and returns a function that removes it.
func (s *Server) InjectFault(f Fault) (remove func()) {
	e := &faultEntry{f: f, left: f.Times}
	s.obsMu.Lock()
	s.faults = append(s.faults, e)
	s.obsMu.Unlock()
	return func() {
		s.obsMu.Lock()
		defer s.obsMu.Unlock()
		for i, x := range s.faults {
			if x == e {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
				return
			}
		}
	}
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.obsMu.Lock()
	s.faults = nil
	s.obsMu.Unlock()
}

// applyFault answers the request from a matching fault; false means serve normally.
func (s *Server) applyFault(c *reqCtx, rt *route) bool {
	s.obsMu.Lock()
	var hit *Fault
	for i := 0; i < len(s.faults); i++ {
		e := s.faults[i]
		if e.f.Route != "" && !strings.EqualFold(e.f.Route, rt.name()) && !strings.EqualFold(e.f.Route, rt.tmpl) {
			continue
		}
		f := e.f
		hit = &f
		if e.f.Times > 0 {
			e.left--
			if e.left <= 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
		}
		break
	}
	s.obsMu.Unlock()
	if hit == nil {
		return false
	}
	if hit.Delay > 0 {
		if err := sleepCtx(c.r.Context(), hit.Delay); err != nil {
			c.status = 499 // client went away; nothing is written
			return true
		}
	}
	if hit.Status == 0 {
		return false
	}
	for k, vs := range hit.Header {
		for _, v := range vs {
			c.w.Header().Add(k, v)
		}
	}
	if hit.Body != "" {
		c.text(hit.Status, hit.Body)
	} else {
		c.writeStatus(hit.Status)
	}
	return true
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("fakeserver: delay interrupted: %w", ctx.Err())
	}
}
