package fake

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Route names, as counted by Requests and matched by Fail. A HEAD request counts
// under "HEAD …" with the GET route's path.
const (
	RouteRoot          = "GET /"
	RouteIdentity      = "GET /identity"
	RouteSections      = "GET /library/sections"
	RouteSectionsAll   = "GET /library/sections/all"
	RouteSectionAll    = "GET /library/sections/{key}/all"
	RouteSectionCount  = "HEAD /library/sections/{key}/all"
	RouteMetadata      = "GET /library/metadata/{ids}"
	RouteChildren      = "GET /library/metadata/{id}/children"
	RouteAllLeaves     = "GET /library/metadata/{id}/allLeaves"
	RouteSessions      = "GET /status/sessions"
	RouteAccounts      = "GET /accounts"
	RouteScrobble      = "PUT /:/scrobble"
	RouteScrobbleGET   = "GET /:/scrobble"
	RouteUnscrobble    = "PUT /:/unscrobble"
	RouteUnscrobbleGET = "GET /:/unscrobble"
	RouteTimeline      = "POST /:/timeline"
	RouteProgress      = "PUT /:/progress"
	RouteProgressGET   = "GET /:/progress"
	RouteProgressPOST  = "POST /:/progress"

	RoutePlexTVUser          = "GET /api/v2/user"
	RoutePlexTVHomeUsers     = "GET /api/v2/home/users"
	RoutePlexTVSwitch        = "POST /api/v2/home/users/{id}/switch"
	RoutePlexTVResources     = "GET /api/v2/resources"
	RoutePlexTVSharedServers = "GET /api/servers/{machineIdentifier}/shared_servers"
	RoutePlexTVUsers         = "GET /api/users"

	// RouteAllPlexTV in Fail matches every plex.tv route, RouteAll every route.
	RouteAllPlexTV = "plex.tv"
	RouteAll       = "*"
)

// Server is a fake Plex Media Server plus the plex.tv endpoints a sync tool uses, in
// one http.Handler. Use it with httptest.NewServer; point both the PMS URL and the
// plex.tv base URL of the client at it.
type Server struct {
	opts Options
	log  zerolog.Logger
	mux  *http.ServeMux

	mu           sync.RWMutex
	items        []item
	sections     []*section
	nextMovieOrd int32
	nextShowOrd  int32
	libVersion   uint64
	accounts     []*account
	byServerTok  map[string]*account
	byPlexTVTok  map[string]*account
	sessions     []*session
	nextSession  int
	rng          *rand.Rand // token rotation

	statsMu     sync.Mutex
	requests    map[string]int
	itemsServed map[string]int
	reqLog      []RequestRecord
	ignored     []string

	failMu   sync.Mutex
	failures []*failureRule

	cache listCache

	hookMu     sync.Mutex
	deliveries []WebhookDelivery
}

// account is a User plus its play state on this server.
type account struct {
	User
	states  map[int32]viewState
	version uint64 // bumped on every state change (list cache key)
}

// localID is the account id PMS itself uses: 1 for the owner, the plex.tv id for
// everyone else (/accounts, /status/sessions).
func (a *account) localID() int {
	if a.Kind == Owner {
		return 1
	}
	return a.ID
}

// viewState is one user's state of one item. Zero means unset: PMS then leaves the
// key out of the response.
type viewState struct {
	viewCount    int32
	viewOffset   int32 // ms
	lastViewedAt int64 // epoch s
}

// RequestRecord is one request as the fake saw it. Tokens are not recorded.
type RequestRecord struct {
	Route  string
	Method string
	Path   string
	Query  string // raw query with X-Plex-Token removed
	User   string // title of the token's user, "" when none matched
	Status int
}

// New builds a fake server from opts. Invalid options give an error naming the field.
func New(opts Options) (*Server, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts:        o,
		byServerTok: map[string]*account{},
		byPlexTVTok: map[string]*account{},
		requests:    map[string]int{},
		itemsServed: map[string]int{},
		rng:         rand.New(rand.NewPCG(uint64(o.Seed), 0x726f74)), // "rot"
	}
	if o.Logger != nil {
		s.log = o.Logger.With().Str("component", "plex-fake").Logger()
	} else {
		s.log = zerolog.Nop()
	}
	for _, sec := range o.Sections {
		if sec.Type == "show" && (sec.SeasonsPerShow > maxSeasons || sec.EpisodesPerSeason > maxEpisodes) {
			return nil, fmt.Errorf("plex fake: options: section %q has %d seasons × %d episodes per show; at most %d × %d are supported, use more shows instead",
				sec.Key, sec.SeasonsPerShow, sec.EpisodesPerSeason, maxSeasons, maxEpisodes)
		}
	}
	for i := range o.Users {
		a := &account{User: o.Users[i], states: map[int32]viewState{}}
		a.Sections = append([]string(nil), a.Sections...)
		if _, dup := s.byServerTok[a.ServerToken]; dup {
			return nil, fmt.Errorf("plex fake: options: Users[%d] (%q).ServerToken is used by another user; tokens must be unique", i, a.Title)
		}
		if prev, dup := s.byPlexTVTok[a.PlexTVToken]; dup && prev != a {
			return nil, fmt.Errorf("plex fake: options: Users[%d] (%q).PlexTVToken is used by another user; tokens must be unique", i, a.Title)
		}
		s.accounts = append(s.accounts, a)
		s.byServerTok[a.ServerToken] = a
		s.byPlexTVTok[a.PlexTVToken] = a
	}
	s.generate()
	s.routes()
	return s, nil
}

// MustNew is New for tests: it panics on invalid options.
func MustNew(opts Options) *Server {
	s, err := New(opts)
	if err != nil {
		panic(err)
	}
	return s
}

// MachineIdentifier is the server's id (/identity, resources clientIdentifier,
// webhook Server.uuid).
func (s *Server) MachineIdentifier() string { return s.opts.MachineIdentifier }

// FriendlyName is the server's name.
func (s *Server) FriendlyName() string { return s.opts.FriendlyName }

// now is the fake's clock.
func (s *Server) now() time.Time { return s.opts.Now() }

type handlerFunc func(w http.ResponseWriter, r *http.Request, rc *reqCtx)

// reqCtx carries what the dispatcher resolved for a handler.
type reqCtx struct {
	route  string
	user   *account // token's user (PMS: server token; plex.tv: plex.tv token)
	format format
}

type routeDef struct {
	pattern string
	plextv  bool
	public  bool // no token needed
	h       handlerFunc
}

func (s *Server) routes() {
	defs := []routeDef{
		{pattern: RouteRoot, h: s.handleRoot},
		{pattern: RouteIdentity, public: true, h: s.handleIdentity},
		{pattern: RouteSections, h: s.handleSections},
		{pattern: RouteSectionsAll, h: s.handleSections},
		{pattern: RouteSectionAll, h: s.handleSectionAll},
		{pattern: RouteMetadata, h: s.handleMetadata},
		{pattern: RouteChildren, h: s.handleChildren},
		{pattern: RouteAllLeaves, h: s.handleAllLeaves},
		{pattern: RouteSessions, h: s.handleSessions},
		{pattern: RouteAccounts, h: s.handleAccounts},
		{pattern: RouteScrobble, h: s.handleScrobble},
		{pattern: RouteScrobbleGET, h: s.handleScrobble},
		{pattern: RouteUnscrobble, h: s.handleUnscrobble},
		{pattern: RouteUnscrobbleGET, h: s.handleUnscrobble},
		{pattern: RouteTimeline, h: s.handleTimeline},
		{pattern: RouteProgress, h: s.handleProgress},
		{pattern: RouteProgressGET, h: s.handleProgress},
		{pattern: RouteProgressPOST, h: s.handleProgress},

		{pattern: RoutePlexTVUser, plextv: true, h: s.handlePlexTVUser},
		{pattern: RoutePlexTVHomeUsers, plextv: true, h: s.handleHomeUsers},
		{pattern: RoutePlexTVSwitch, plextv: true, h: s.handleSwitch},
		{pattern: RoutePlexTVResources, plextv: true, h: s.handleResources},
		{pattern: RoutePlexTVSharedServers, plextv: true, h: s.handleSharedServers},
		{pattern: RoutePlexTVUsers, plextv: true, h: s.handlePlexTVUsers},
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("/", s.handleUnknown)
	for _, d := range defs {
		d := d
		pattern := d.pattern
		if pattern == RouteRoot {
			pattern = "GET /{$}"
		}
		s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			s.dispatch(w, r, d)
		})
		// plex.tv answers with and without the trailing slash (WatchState asks for
		// /api/v2/home/users/ and /api/users/).
		if d.plextv && !strings.HasSuffix(pattern, "switch") {
			s.mux.HandleFunc(pattern+"/{$}", func(w http.ResponseWriter, r *http.Request) {
				s.dispatch(w, r, d)
			})
		}
	}
}

// RouteUnknown counts requests to paths the fake does not serve (answered 404).
const RouteUnknown = "unknown"

func (s *Server) handleUnknown(w http.ResponseWriter, r *http.Request) {
	rc := &reqCtx{route: RouteUnknown}
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	defer func() { s.record(r, rc, sw.status) }()
	writeHTMLStatus(sw, http.StatusNotFound)
}

// ServeHTTP serves PMS and plex.tv routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// dispatch records the request, applies injected failures and authentication, then
// runs the route's handler.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request, d routeDef) {
	route := d.pattern
	if r.Method == http.MethodHead {
		route = "HEAD" + route[strings.IndexByte(route, ' '):]
	}
	rc := &reqCtx{route: route, format: negotiate(r)}
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	defer func() { s.record(r, rc, sw.status) }()

	if !d.plextv {
		w.Header().Set("X-Plex-Protocol", "1.0")
	}
	if f := s.takeFailure(route, d.plextv); f != nil {
		if f.Delay > 0 {
			t := time.NewTimer(f.Delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if f.Status != 0 {
			s.writeFailure(sw, rc, d.plextv, f)
			return
		}
	}

	tok := r.Header.Get("X-Plex-Token")
	if tok == "" {
		tok = r.URL.Query().Get("X-Plex-Token")
	}
	s.mu.RLock()
	if d.plextv {
		rc.user = s.byPlexTVTok[tok]
	} else {
		rc.user = s.byServerTok[tok]
	}
	s.mu.RUnlock()
	if rc.user == nil && !d.public {
		if d.plextv {
			writePlexTVError(sw, rc.format, http.StatusUnauthorized, 1001, "User could not be authenticated")
		} else {
			writeUnauthorized(sw)
		}
		return
	}
	d.h(sw, r, rc)
}

// writeUnauthorized writes PMS's 401: an HTML page, whatever the Accept header.
func writeUnauthorized(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte(`<html><head><title>Unauthorized</title></head><body><h1>401 Unauthorized</h1></body></html>`))
}

// writeHTMLStatus writes the HTML error page PMS uses for other statuses.
func writeHTMLStatus(w http.ResponseWriter, status int) {
	text := http.StatusText(status)
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, "<html><head><title>%s</title></head><body><h1>%d %s</h1></body></html>", text, status, text)
}

// writePlexTVError writes plex.tv's error document: {"errors":[…]} in JSON, <errors>
// in XML.
func writePlexTVError(w http.ResponseWriter, f format, status, code int, msg string) {
	if f == formatJSON {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		b := appendJSONString([]byte(`{"errors":[{"code":`+fmt.Sprint(code)+`,"message":`), msg)
		b = append(b, `,"status":`+fmt.Sprint(status)+`}]}`...)
		_, _ = w.Write(b)
		return
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(status)
	b := []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<errors>\n  <error code=\"" + fmt.Sprint(code) + `" message="`)
	b = appendXMLEscaped(b, msg)
	b = append(b, `" status="`+fmt.Sprint(status)+"\"/>\n</errors>\n"...)
	_, _ = w.Write(b)
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status = code
		w.wrote = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

const reqLogCap = 4096

func (s *Server) record(r *http.Request, rc *reqCtx, status int) {
	q := r.URL.Query()
	q.Del("X-Plex-Token")
	rec := RequestRecord{Route: rc.route, Method: r.Method, Path: r.URL.Path, Query: q.Encode(), Status: status}
	if rc.user != nil {
		rec.User = rc.user.Title
	}
	s.statsMu.Lock()
	s.requests[rc.route]++
	if len(s.reqLog) == reqLogCap {
		copy(s.reqLog, s.reqLog[1:])
		s.reqLog = s.reqLog[:reqLogCap-1]
	}
	s.reqLog = append(s.reqLog, rec)
	s.statsMu.Unlock()
	s.log.Debug().Str("route", rc.route).Str("query", rec.Query).Str("user", rec.User).Int("status", status).Msg("request")
}

func (s *Server) countItems(route string, n int) {
	s.statsMu.Lock()
	s.itemsServed[route] += n
	s.statsMu.Unlock()
}

func (s *Server) noteIgnored(params []string) {
	if len(params) == 0 {
		return
	}
	s.statsMu.Lock()
	s.ignored = append(s.ignored, params...)
	s.statsMu.Unlock()
}

// Requests is the number of requests seen on route (a Route constant) since the last
// ResetStats, including failed and unauthorised ones.
func (s *Server) Requests(route string) int {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	return s.requests[route]
}

// RequestCounts is Requests for every route seen.
func (s *Server) RequestCounts() map[string]int {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	out := make(map[string]int, len(s.requests))
	for k, v := range s.requests {
		out[k] = v
	}
	return out
}

// ItemsServed is the number of metadata items (Metadata[] elements) written by
// route since the last ResetStats, or by all routes when route is "". A delta import
// should keep this small.
func (s *Server) ItemsServed(route string) int {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	if route != "" {
		return s.itemsServed[route]
	}
	n := 0
	for _, v := range s.itemsServed {
		n += v
	}
	return n
}

// RequestLog returns the last 4096 requests, oldest first.
func (s *Server) RequestLog() []RequestRecord {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	return append([]RequestRecord(nil), s.reqLog...)
}

// IgnoredParams lists the query parameters of listing requests that PMS would have
// silently ignored (unknown filter fields or operators, unknown sort fields): PMS
// answers 200 with an unfiltered list, so a misspelt delta filter looks like a
// library where everything changed. Tests can assert this stays empty.
func (s *Server) IgnoredParams() []string {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	return append([]string(nil), s.ignored...)
}

// ResetStats clears request counts, item counts, the request log and ignored params.
func (s *Server) ResetStats() {
	s.statsMu.Lock()
	s.requests = map[string]int{}
	s.itemsServed = map[string]int{}
	s.reqLog = nil
	s.ignored = nil
	s.statsMu.Unlock()
}

// Failure is an injected fault for the routes Fail names.
type Failure struct {
	// Status to answer instead of running the route (429, 500, 503, 401, …); 0 only
	// delays. A 401 has the route's real unauthorised body.
	Status int
	// Times is how many matching requests fail; 0 means until ClearFailures.
	Times int
	// Delay before answering; a client that gives up (context cancelled) is let go.
	Delay time.Duration
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter string
}

type failureRule struct {
	route string
	Failure
	left int
}

// Fail injects f on route: a Route constant, the path alone ("/library/sections/{key}/all",
// any method), RouteAllPlexTV or RouteAll. Rules are tried in the order added.
func (s *Server) Fail(route string, f Failure) {
	s.failMu.Lock()
	s.failures = append(s.failures, &failureRule{route: route, Failure: f, left: f.Times})
	s.failMu.Unlock()
}

// ClearFailures removes every injected failure.
func (s *Server) ClearFailures() {
	s.failMu.Lock()
	s.failures = nil
	s.failMu.Unlock()
}

func (s *Server) takeFailure(route string, plextv bool) *Failure {
	s.failMu.Lock()
	defer s.failMu.Unlock()
	path := route[strings.IndexByte(route, ' ')+1:]
	for i, f := range s.failures {
		match := f.route == RouteAll || f.route == route || f.route == path ||
			(f.route == RouteAllPlexTV && plextv)
		if !match {
			continue
		}
		out := f.Failure
		if f.Times > 0 {
			f.left--
			if f.left <= 0 {
				s.failures = append(s.failures[:i], s.failures[i+1:]...)
			}
		}
		return &out
	}
	return nil
}

func (s *Server) writeFailure(w http.ResponseWriter, rc *reqCtx, plextv bool, f *Failure) {
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	switch {
	case f.Status == http.StatusUnauthorized && !plextv:
		writeUnauthorized(w)
	case f.Status == http.StatusUnauthorized:
		writePlexTVError(w, rc.format, f.Status, 1001, "User could not be authenticated")
	case plextv:
		writePlexTVError(w, rc.format, f.Status, 1000+f.Status, http.StatusText(f.Status))
	default:
		writeHTMLStatus(w, f.Status)
	}
}
