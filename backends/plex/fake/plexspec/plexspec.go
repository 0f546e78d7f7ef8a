package plexspec

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

//go:embed testdata/plex-openapi.yaml
var specYAML []byte

// specHost is the one server URL the loaded document keeps; requests are rewritten
// to it before routing (see load).
const specHost = "pms.invalid"

var (
	loadOnce sync.Once
	loaded   *Validator
	loadErr  error
)

// Validator checks Plex requests and responses against plex-openapi.yaml (LukeHagar
// community spec 1.1.1), minus the known gaps listed in Gaps.
type Validator struct {
	doc    *openapi3.T
	router routers.Router
}

// Load parses the embedded spec once per process and returns the shared Validator.
func Load() (*Validator, error) {
	loadOnce.Do(func() { loaded, loadErr = load() })
	return loaded, loadErr
}

func load() (*Validator, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(specYAML)
	if err != nil {
		return nil, fmt.Errorf("plexspec: load plex-openapi.yaml: %w", err)
	}
	// The spec's first server template "{IP-description}.{identifier}.plex.direct"
	// reuses a path variable name, which gorillamux rejects ("duplicated route
	// variable"), and plex.tv operations carry their own servers. Keep one plain
	// server and route plex.tv paths by their path (see gaps.go) instead.
	doc.Servers = openapi3.Servers{{URL: "http://" + specHost}}
	for _, p := range doc.Paths.Map() {
		p.Servers = nil
		for _, op := range p.Operations() {
			op.Servers = nil
		}
	}
	// doc.Validate is not called: the spec fails it (duplicate X-Plex-Client-Identifier
	// parameter on /:/timeline, examples that break their own schemas). Routing and
	// request/response validation work regardless.
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("plexspec: route plex-openapi.yaml: %w", err)
	}
	return &Validator{doc: doc, router: r}, nil
}

// Result is the outcome of checking one request/response pair.
type Result struct {
	Method, Path string
	// Operation is the spec operation the pair was checked against ("" when skipped).
	Operation string
	// Gap is set when a known spec gap decided what was (not) checked.
	Gap *Gap
	// Request and Response are the validation errors, nil when valid or not checked.
	Request, Response error
	// ResponseChecked is false when the response body was not validated (gap, XML,
	// non-2xx status the spec does not describe).
	ResponseChecked bool
}

// Err joins the request and response errors with the route, or nil.
func (r Result) Err() error {
	var errs []error
	if r.Request != nil {
		errs = append(errs, fmt.Errorf("%s %s: request: %w", r.Method, r.Path, r.Request))
	}
	if r.Response != nil {
		errs = append(errs, fmt.Errorf("%s %s: response: %w", r.Method, r.Path, r.Response))
	}
	return errors.Join(errs...)
}

// authenticate accepts the token in the X-Plex-Token header or the query: PMS takes
// every X-Plex-* value both ways, the spec only declares the header.
func authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	r := in.RequestValidationInput.Request
	if r.Header.Get("X-Plex-Token") != "" || r.URL.Query().Get("X-Plex-Token") != "" {
		return nil
	}
	return errors.New("no X-Plex-Token header or query parameter")
}

// route finds the spec operation for a request, applying the path and method gaps.
// It returns the request to validate (a copy aimed at the spec's server).
func (v *Validator) route(r *http.Request) (*routers.Route, map[string]string, *http.Request, *Gap, error) {
	gap := findGap(r.Method, r.URL.Path)
	if gap != nil && gap.Skip == SkipAll {
		return nil, nil, nil, gap, nil
	}
	u := *r.URL
	u.Scheme, u.Host = "http", specHost
	method := r.Method
	if gap != nil {
		if gap.SpecPath != "" {
			u.Path = gap.specPath(r.URL.Path)
			u.RawPath = ""
		}
		if gap.SpecMethod != "" {
			method = gap.SpecMethod
		}
	}
	req := r.Clone(r.Context())
	req.Method = method
	req.URL = &u
	req.Host = specHost
	req.RequestURI = ""
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		return nil, nil, req, gap, fmt.Errorf("not in plex-openapi.yaml (%w); if real PMS serves it, add it to plexspec.Gaps with the reason", err)
	}
	return route, params, req, gap, nil
}

// ValidateRequest checks a request a client is about to send (or a server received)
// against the spec. Known gaps are skipped (nil). The body is not consumed.
func (v *Validator) ValidateRequest(r *http.Request) error {
	res := v.Check(r, 0, nil, nil)
	if res.Request != nil {
		return fmt.Errorf("%s %s: %w", r.Method, r.URL.Path, res.Request)
	}
	return nil
}

// Check validates a request and, when status is not 0, its response. Pass the
// response body as read.
func (v *Validator) Check(r *http.Request, status int, header http.Header, body []byte) Result {
	res := Result{Method: r.Method, Path: r.URL.Path}
	route, params, req, gap, err := v.route(r)
	res.Gap = gap
	if gap != nil && gap.Skip == SkipAll {
		return res
	}
	if err != nil {
		res.Request = err
		return res
	}
	res.Operation = route.Operation.OperationID
	in := &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: params,
		Route:      route,
		Options: &openapi3filter.Options{
			AuthenticationFunc:  authenticate,
			MultiError:          true,
			SkipSettingDefaults: true,
			ExcludeRequestBody:  true, // every call a sync tool makes carries its data in the query
		},
	}
	if gap != nil && gap.NoQueryCheck {
		in.Options.ExcludeRequestQueryParams = true
	}
	if gap == nil || gap.Skip&SkipRequest == 0 {
		res.Request = openapi3filter.ValidateRequest(r.Context(), in)
	}
	if status == 0 {
		return res
	}
	if gap != nil && gap.Skip&SkipResponse != 0 {
		return res
	}
	ct, _, _ := mime.ParseMediaType(header.Get("Content-Type"))
	if ct == "text/xml" || ct == "application/xml" {
		return res // the spec describes JSON only (see Gaps: XML)
	}
	if route.Operation.Responses.Status(status) == nil {
		return res // 401/403/404/429/5xx pages the spec does not list
	}
	if r.Method == http.MethodHead {
		body = nil
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{MultiError: true, IncludeResponseStatus: true, ExcludeResponseBody: r.Method == http.MethodHead},
	}
	res.ResponseChecked = true
	res.Response = openapi3filter.ValidateResponse(r.Context(), out)
	return res
}

// Recorder is an http.Handler that passes requests to a handler (a fake server) and
// validates every request/response pair against the spec. Use it to check a fake's
// answers and a client's requests in one go:
//
//	rec := plexspec.NewRecorder(v, fakeServer)
//	ts := httptest.NewServer(rec)
//	… exercise the client …
//	if err := rec.Err(); err != nil { t.Fatal(err) }
type Recorder struct {
	v    *Validator
	next http.Handler

	mu      sync.Mutex
	results []Result
}

// NewRecorder wraps next.
func NewRecorder(v *Validator, next http.Handler) *Recorder {
	return &Recorder{v: v, next: next}
}

// ServeHTTP serves the request with the wrapped handler and records the check.
func (rec *Recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cw := httptest.NewRecorder()
	rec.next.ServeHTTP(cw, r)
	resp := cw.Result()
	body := cw.Body.Bytes()
	res := rec.v.Check(r, resp.StatusCode, resp.Header, body)
	rec.mu.Lock()
	rec.results = append(rec.results, res)
	rec.mu.Unlock()
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
}

// Results returns every check so far.
func (rec *Recorder) Results() []Result {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]Result(nil), rec.results...)
}

// Err joins every request and response error seen so far, or nil.
func (rec *Recorder) Err() error {
	var errs []error
	for _, r := range rec.Results() {
		if err := r.Err(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Reset forgets the results.
func (rec *Recorder) Reset() {
	rec.mu.Lock()
	rec.results = nil
	rec.mu.Unlock()
}
