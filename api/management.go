package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/rs/zerolog"

	"github.com/keepwatch/keepwatch/core/model"
	"github.com/keepwatch/keepwatch/core/pipeline"
	"github.com/keepwatch/keepwatch/core/store"
	"github.com/keepwatch/keepwatch/plugins"
	"github.com/keepwatch/keepwatch/plugins/host"
	"github.com/keepwatch/keepwatch/tasks"
)

// APIPrefix is where the management API is mounted.
const APIPrefix = "/api/v1"

// OpenAPIDocument is the OpenAPI 3 description of the management API, served
// at /api/v1/openapi.json without authentication.
//
//go:embed openapi.json
var OpenAPIDocument []byte

// Backends is what the management API reads of the configured backends and
// the account directory; *pipeline.Pipeline implements it.
type Backends interface {
	Backends() []*pipeline.Backend
	Backend(name string) (*pipeline.Backend, bool)
	Accounts(backend string) ([]plugins.Account, bool)
	Directory() *pipeline.Directory
}

// Engine changes records and runs on a person's request; *engine.Engine
// implements it.
type Engine interface {
	Mark(ctx context.Context, recordID uint64, watched bool) (*model.Record, *store.Run, error)
	Approve(ctx context.Context, runID uint64) (*store.Run, error)
	Discard(ctx context.Context, runID uint64) (*store.Run, error)
	Undo(ctx context.Context, runID uint64) (*store.Run, error)
}

// Store is what the management API reads and writes in the database;
// *store.Store implements it.
type Store interface {
	Run(id uint64) (*store.Run, error)
	ListRuns(limit int) ([]*store.Run, error)
	Journal(o model.Origin) ([]model.Event, error)
	RecordJournal(recordID uint64, limit int) ([]model.Event, error)
	RecordsAfter(after uint64, limit int) ([]*model.Record, error)
	ListDeliveries(backend string, limit int) ([]*store.Delivery, error)
	InboxDepth() (int, error)
	OutboxDepths() (map[string]int, error)
	ListTokens() ([]store.Token, error)
	PutToken(tok store.Token) error
}

// Tasks lists and starts tasks; *tasks.Scheduler implements it.
type Tasks interface {
	Run(ctx context.Context, name string, req tasks.Request) (runID uint64, done <-chan *store.Run, err error)
	List() []tasks.TaskInfo
}

// Checker reports readiness; *Health implements it.
type Checker interface {
	Run(ctx context.Context) Readiness
}

// Deps are the parts of the daemon the management API serves. Every field
// but Health and Now is required.
type Deps struct {
	Backends Backends
	Engine   Engine
	Store    Store
	Tasks    Tasks
	Health   Checker // nil: GET /health reports ok with no checks
	// Plugins answers the state of every backend's plugin process (nil:
	// backends are listed without it).
	Plugins func() []host.Status
	// PublicURL is how media servers reach keepwatch (server.public_url);
	// webhook URLs are built from it. When empty, the URL the API was
	// called on is used.
	PublicURL string
	Now       func() time.Time // time.Now when nil
}

// Management serves the management API under /api/v1.
type Management struct {
	deps   Deps
	keySum [sha256.Size]byte
	hasKey bool
	log    zerolog.Logger
}

// NewManagement returns the management API guarded by apiKey. An empty key
// refuses every request: the API is never open by accident.
func NewManagement(deps Deps, apiKey string, log zerolog.Logger) *Management {
	if deps.Now == nil {
		deps.Now = time.Now
	}
	return &Management{deps: deps, keySum: sha256.Sum256([]byte(apiKey)), hasKey: apiKey != "",
		log: log.With().Str("component", "management").Logger()}
}

// Register mounts every route under /api/v1 on r.
func (m *Management) Register(r *mux.Router) {
	sub := r.PathPrefix(APIPrefix).Subrouter()
	sub.Handle("/openapi.json", http.HandlerFunc(m.openAPI)).Methods(http.MethodGet)

	routes := []struct {
		method, path string
		handle       func(w http.ResponseWriter, r *http.Request) error
	}{
		{http.MethodGet, "/backends", m.listBackends},
		{http.MethodPost, "/backends/{name}/test", m.testBackend},
		{http.MethodGet, "/backends/{name}/accounts", m.backendAccounts},
		{http.MethodGet, "/users", m.listUsers},
		{http.MethodGet, "/webhooks", m.listWebhooks},
		{http.MethodPost, "/webhooks/rotate", m.rotateWebhook},
		{http.MethodGet, "/webhooks/deliveries", m.listDeliveries},
		{http.MethodGet, "/state", m.listState},
		{http.MethodGet, "/state/{id}", m.showState},
		{http.MethodPost, "/state/{id}/mark", m.markState},
		{http.MethodGet, "/tasks", m.listTasks},
		{http.MethodPost, "/tasks/{name}/run", m.runTask},
		{http.MethodGet, "/runs", m.listRuns},
		{http.MethodGet, "/runs/{id}", m.showRun},
		{http.MethodPost, "/runs/{id}/approve", m.approveRun},
		{http.MethodPost, "/runs/{id}/discard", m.discardRun},
		{http.MethodPost, "/runs/{id}/undo", m.undoRun},
		{http.MethodGet, "/queue", m.queue},
		{http.MethodGet, "/health", m.health},
	}
	var served []*mux.Route
	for _, rt := range routes {
		served = append(served, sub.Handle(rt.path, m.authorized(m.serve(rt.handle))).Methods(rt.method))
	}
	// gorilla/mux reports a method mismatch on a subrouter as "not found"
	// when a later route shares the prefix, so one handler tells the two
	// apart by asking each route whether another method would match.
	noRoute := m.authorized(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if allow := allowedMethods(served, r); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeError(w, r, &apiError{http.StatusMethodNotAllowed, "method_not_allowed",
				fmt.Sprintf("%s is not allowed on %s (use %s)", r.Method, r.URL.Path, strings.Join(allow, " or "))})
			return
		}
		writeError(w, r, &apiError{http.StatusNotFound, "not_found",
			fmt.Sprintf("no route %s %s (the routes are listed in %s/openapi.json)", r.Method, r.URL.Path, APIPrefix)})
	}))
	sub.NotFoundHandler, sub.MethodNotAllowedHandler = noRoute, noRoute
}

// allowedMethods lists the methods some route would accept r's path with.
func allowedMethods(routes []*mux.Route, r *http.Request) []string {
	var allow []string
	for _, rt := range routes {
		methods, _ := rt.GetMethods()
		for _, method := range methods {
			probe := r.Clone(r.Context())
			probe.Method = method
			var match mux.RouteMatch
			if rt.Match(probe, &match) && match.MatchErr == nil {
				allow = append(allow, method)
			}
		}
	}
	return allow
}

func (m *Management) openAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(OpenAPIDocument)
}

// authorized lets a request through when it carries "Authorization: Bearer
// <key>". Hashing both sides first makes the comparison constant in time
// whatever the presented key's length.
func (m *Management) authorized(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, key, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		sum := sha256.Sum256([]byte(strings.TrimSpace(key)))
		ok := subtle.ConstantTimeCompare(sum[:], m.keySum[:]) == 1
		if !m.hasKey || !strings.EqualFold(scheme, "Bearer") || !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="keepwatch"`)
			writeError(w, r, &apiError{http.StatusUnauthorized, "unauthorized",
				"missing or wrong API key: send \"Authorization: Bearer <key>\" with server.api_key or the key in <data_dir>/api.key"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// serve turns a handler's error into the error body: an *apiError as is,
// anything else as a 500 that is logged and not shown in detail.
func (m *Management) serve(h func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		var ae *apiError
		if !errors.As(err, &ae) {
			m.log.Error().Err(err).Str("method", r.Method).Str("path", r.URL.Path).Msg("management request failed")
			ae = &apiError{http.StatusInternalServerError, "internal", err.Error()}
		}
		writeError(w, r, ae)
	})
}

// ErrorBody is every error answer: {"error": {"code", "message"}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong; Code is stable, Message is for people.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.message }

func badRequest(format string, args ...any) error {
	return &apiError{http.StatusBadRequest, "bad_request", fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &apiError{http.StatusNotFound, "not_found", fmt.Sprintf(format, args...)}
}

func conflict(format string, args ...any) error {
	return &apiError{http.StatusConflict, "conflict", fmt.Sprintf(format, args...)}
}

func writeError(w http.ResponseWriter, r *http.Request, e *apiError) {
	writeJSON(w, r, e.status, ErrorBody{Error: ErrorDetail{Code: e.code, Message: e.message}})
}

// decodeBody reads a JSON request body into v. Unknown fields are refused so
// a misspelt option is not silently ignored; an empty body leaves v as is
// when empty is allowed.
func decodeBody(r *http.Request, v any, emptyOK bool) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	switch {
	case errors.Is(err, io.EOF) && emptyOK:
		return nil
	case errors.Is(err, io.EOF):
		return badRequest("the request body is empty: send a JSON object (see %s/openapi.json)", APIPrefix)
	case err != nil:
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return badRequest("body field %q: %s is the wrong type (want %s)", typeErr.Field, typeErr.Value, typeErr.Type)
		}
		if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return badRequest("body field %s is not known (see %s/openapi.json for the fields)", field, APIPrefix)
		}
		return badRequest("the request body is not valid JSON: %v", err)
	}
	return nil
}

// pathID parses the {id} path variable.
func pathID(r *http.Request, what string) (uint64, error) {
	raw := mux.Vars(r)["id"]
	id, err := strconv.ParseUint(raw, 10, 64)
	if err != nil || id == 0 {
		return 0, badRequest("id %q is not a %s id (write a positive number, like 12)", raw, what)
	}
	return id, nil
}

// queryLimit parses ?limit=, def when absent, 1..max otherwise.
func queryLimit(r *http.Request, def, max int) (int, error) {
	raw := r.URL.Query().Get("limit")
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > max {
		return 0, badRequest("limit %q is not a number from 1 to %d (write one, like %d)", raw, max, def)
	}
	return n, nil
}

// notFoundAs turns store.ErrNotFound into a 404 saying what was looked for.
func notFoundAs(err error, format string, args ...any) error {
	if errors.Is(err, store.ErrNotFound) {
		return notFound(format, args...)
	}
	return err
}

func ok(w http.ResponseWriter, r *http.Request, body any) error {
	writeJSON(w, r, http.StatusOK, body)
	return nil
}

// knownBackend returns the named backend or a 404 naming the configured ones.
func (m *Management) knownBackend(field, name string) (*pipeline.Backend, error) {
	if b, found := m.deps.Backends.Backend(name); found {
		return b, nil
	}
	names := make([]string, 0)
	for _, b := range m.deps.Backends.Backends() {
		names = append(names, b.Name)
	}
	return nil, notFound("%s %q is not a configured backend (the backends are: %s)", field, name, strings.Join(names, ", "))
}

// knownUser checks a user name against the directory; allowAll accepts "*"
// (a backend-wide webhook token).
func (m *Management) knownUser(field, name string, allowAll bool) error {
	if allowAll && name == AllUsers {
		return nil
	}
	users := m.deps.Backends.Directory().Users()
	for _, u := range users {
		if u == name {
			return nil
		}
	}
	hint := ""
	if allowAll {
		hint = `, or "*" for a backend-wide token`
	}
	return notFound("%s %q is not a known user (the users are: %s%s)", field, name, strings.Join(users, ", "), hint)
}
