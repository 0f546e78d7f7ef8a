// Package openapicheck validates Jellyfin and Emby traffic against the vendors' OpenAPI
// documents with kin-openapi's openapi3filter: the fakes' responses in their own tests, and
// a backend's requests in the backend's tests (record them with the fake, or wrap the fake
// in Middleware).
//
// The documents in specs/ are the vendor files cut down to the paths the fakes serve by
// specs/strip.go (reproducible; sources and hashes in specs/README.md).
//
// Known spec gaps, handled here rather than reported (each is a place where the servers
// accept more than their documents say):
//
//  1. Case: both servers match paths and query names case-insensitively; the documents
//     spell one case. Paths are matched ignoring case and query names are renamed to the
//     document's spelling before validation.
//  2. Jellyfin's legacy /Users/{userId}/... routes are served ([Obsolete], hidden from the
//     document since 10.9). They are validated as their 10.9 equivalents (/Items?userId=,
//     /Items/{itemId}?userId=, /UserPlayedItems/{itemId}?userId=,
//     /UserItems/{itemId}/UserData?userId=, /UserViews?userId=).
//  3. Jellyfin array parameters are form/explode in the document, but the server's
//     CommaDelimitedArrayModelBinder also takes "Movie,Episode"; kin-openapi would compare
//     the joined string to the enum. Comma lists are split into repeated values first.
//  4. Jellyfin's datePlayed is format date-time in the document but LegacyDateTimeModelBinder
//     takes yyyyMMddHHmmss first; such values are rewritten to ISO-8601 before validation.
//  5. Emby's documents live under the server URL http://emby.media/emby; real servers answer
//     with and without /emby. The prefix is stripped and the document's server set to "/".
//  6. Emby marks IncludeExternalContent required on /Users/{UserId}/Views; the server and
//     every client treat it as optional. A missing value is filled with false.
//  7. GET /Users on Emby is served but not documented (only /Users/Query and /Users/Public);
//     it is skipped, not validated.
//  8. Security is not validated here (the fakes check tokens themselves): Jellyfin documents
//     only the Authorization header, not ?ApiKey=, and Emby documents an http bearer scheme
//     that its real header format does not follow.
//  9. Guid-typed values are "format: uuid" in Jellyfin's document but written without dashes
//     by the server; kin-openapi does not check uuid unless registered, and it is not.
//  10. Only 2xx responses are validated: error bodies differ from the documents (Jellyfin
//     writes application/problem+json, Emby plain text).
package openapicheck

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/keepwatch/keepwatch/backends/internal/mediabrowser/fakeserver"
)

//go:embed specs/*.json
var specFS embed.FS

// Spec names one of the embedded documents.
type Spec string

const (
	Jellyfin10_11 Spec = "jellyfin-10.11.11.json"
	Jellyfin12    Spec = "jellyfin-12.0.0.json"
	Emby4_8       Spec = "emby-4.8.11.json"
)

// For picks the document for a fake: Jellyfin 12.x gets the 12.0 document, older Jellyfin
// the 10.11 one (the sync routes are identical from 10.9 to 12.0), Emby the 4.8.11 one.
func For(s *fakeserver.Server) Spec {
	if s.Flavor() == fakeserver.Emby {
		return Emby4_8
	}
	if strings.HasPrefix(s.Version(), "12.") || strings.HasPrefix(s.Version(), "13.") {
		return Jellyfin12
	}
	return Jellyfin10_11
}

// Validator checks requests and responses against one document.
type Validator struct {
	spec   Spec
	emby   bool
	doc    *openapi3.T
	router routers.Router
	opts   *openapi3filter.Options
}

// Load parses an embedded document.
func Load(spec Spec) (*Validator, error) {
	raw, err := specFS.ReadFile("specs/" + string(spec))
	if err != nil {
		return nil, fmt.Errorf("openapicheck: read %s: %w", spec, err)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	if err != nil {
		return nil, fmt.Errorf("openapicheck: load %s: %w", spec, err)
	}
	doc.Servers = openapi3.Servers{{URL: "/"}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("openapicheck: route %s: %w", spec, err)
	}
	return &Validator{
		spec: spec, emby: strings.HasPrefix(string(spec), "emby"), doc: doc, router: router,
		opts: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	}, nil
}

// MustLoad is Load for tests.
func MustLoad(spec Spec) *Validator {
	v, err := Load(spec)
	if err != nil {
		panic(err)
	}
	return v
}

// ErrUndocumented marks a request whose route the document does not have (gap 7), or any
// route unknown to it; CheckRequests reports the latter as findings.
var ErrUndocumented = errors.New("openapicheck: route not in the document")

// canonical rewrites a request into the document's spelling (gaps 1-6). It returns the
// route found and the rewritten request, or ErrUndocumented.
func (v *Validator) canonical(method, rawURL string, header http.Header, body []byte) (*http.Request, *routers.Route, map[string]string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("openapicheck: parse URL %q: %w", rawURL, err)
	}
	path := u.Path
	if v.emby && len(path) >= 5 && strings.EqualFold(path[:5], "/emby") && (len(path) == 5 || path[5] == '/') {
		path = path[5:]
	}
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	q := u.Query()
	if !v.emby {
		path, q = rewriteLegacy(path, q)
	}
	tmpl, canon := v.findPath(path)
	if tmpl == "" {
		return nil, nil, nil, fmt.Errorf("%w: %s %s", ErrUndocumented, method, u.Path)
	}
	item := v.doc.Paths.Value(tmpl)
	op := item.GetOperation(method)
	if op == nil {
		return nil, nil, nil, fmt.Errorf("%w: %s %s (method)", ErrUndocumented, method, tmpl)
	}
	q = v.normalizeQuery(op, append(item.Parameters, op.Parameters...), q)
	cu := url.URL{Path: canon, RawQuery: q.Encode()}
	req := httptest.NewRequest(method, cu.String(), bytes.NewReader(body))
	for k, vs := range header {
		req.Header[k] = append([]string(nil), vs...)
	}
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("openapicheck: route %s %s: %w", method, canon, err)
	}
	return req, route, params, nil
}

// legacy Jellyfin routes and their 10.9+ equivalents (gap 2).
func rewriteLegacy(path string, q url.Values) (string, url.Values) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if len(segs) < 3 || !strings.EqualFold(segs[0], "Users") {
		return path, q
	}
	user := segs[1]
	rest := segs[2:]
	setUser := func() { q.Set("userId", user) }
	switch {
	case len(rest) == 1 && strings.EqualFold(rest[0], "Items"):
		setUser()
		return "/Items", q
	case len(rest) == 1 && strings.EqualFold(rest[0], "Views"):
		setUser()
		return "/UserViews", q
	case len(rest) == 2 && strings.EqualFold(rest[0], "Items"):
		setUser()
		return "/Items/" + rest[1], q
	case len(rest) == 2 && strings.EqualFold(rest[0], "PlayedItems"):
		setUser()
		return "/UserPlayedItems/" + rest[1], q
	case len(rest) == 3 && strings.EqualFold(rest[0], "Items") && strings.EqualFold(rest[2], "UserData"):
		setUser()
		return "/UserItems/" + rest[1] + "/UserData", q
	}
	return path, q
}

// findPath matches a path against the document's templates ignoring case (gap 1) and
// returns the template and the path spelled in the template's case.
func (v *Validator) findPath(path string) (string, string) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	best, bestCanon, bestLiterals := "", "", -1
	for _, tmpl := range v.doc.Paths.InMatchingOrder() {
		ts := strings.Split(strings.Trim(tmpl, "/"), "/")
		if len(ts) != len(segs) {
			continue
		}
		literals := 0
		out := make([]string, len(ts))
		ok := true
		for i, t := range ts {
			if strings.HasPrefix(t, "{") {
				out[i] = segs[i]
				continue
			}
			if !strings.EqualFold(t, segs[i]) {
				ok = false
				break
			}
			out[i] = t
			literals++
		}
		if ok && literals > bestLiterals {
			best, bestCanon, bestLiterals = tmpl, "/"+strings.Join(out, "/"), literals
		}
	}
	return best, bestCanon
}

// normalizeQuery renames query keys to the document's case (gap 1), splits comma lists for
// array parameters (gap 3), rewrites yyyyMMddHHmmss dates (gap 4) and fills Emby's
// IncludeExternalContent (gap 6).
func (v *Validator) normalizeQuery(op *openapi3.Operation, params openapi3.Parameters, q url.Values) url.Values {
	out := url.Values{}
	byLower := map[string]*openapi3.Parameter{}
	for _, pr := range params {
		if pr.Value != nil && pr.Value.In == openapi3.ParameterInQuery {
			byLower[strings.ToLower(pr.Value.Name)] = pr.Value
		}
	}
	for k, vs := range q {
		p := byLower[strings.ToLower(k)]
		if p == nil {
			out[k] = append(out[k], vs...)
			continue
		}
		for _, val := range vs {
			if !v.emby && p.Schema != nil && p.Schema.Value != nil && p.Schema.Value.Type.Is("array") {
				for _, part := range strings.Split(val, ",") {
					if part = strings.TrimSpace(part); part != "" {
						out.Add(p.Name, part)
					}
				}
				continue
			}
			if !v.emby && strings.EqualFold(p.Name, "datePlayed") {
				if t, err := time.Parse("20060102150405", val); err == nil {
					val = t.UTC().Format(time.RFC3339)
				}
			}
			out.Add(p.Name, val)
		}
	}
	if v.emby {
		if p := byLower["includeexternalcontent"]; p != nil && p.Required && out.Get(p.Name) == "" {
			out.Set(p.Name, "false")
		}
	}
	return out
}

// ValidateRequest validates one request as the server received it.
func (v *Validator) ValidateRequest(ctx context.Context, method, rawURL string, header http.Header, body []byte) error {
	req, route, params, err := v.canonical(method, rawURL, header, body)
	if err != nil {
		return err
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: v.opts}
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
		return fmt.Errorf("openapicheck: %s request %s %s: %w", v.spec, method, rawURL, err)
	}
	return nil
}

// ValidateResponse validates a 2xx response to a request (gap 10).
func (v *Validator) ValidateResponse(ctx context.Context, method, rawURL string, reqHeader http.Header, reqBody []byte, status int, respHeader http.Header, respBody []byte) error {
	if status < 200 || status > 299 {
		return nil
	}
	req, route, params, err := v.canonical(method, rawURL, reqHeader, reqBody)
	if err != nil {
		return err
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: v.opts},
		Status:                 status,
		Header:                 respHeader,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(respBody)
	if err := openapi3filter.ValidateResponse(ctx, in); err != nil {
		return fmt.Errorf("openapicheck: %s response %d to %s %s: %w", v.spec, status, method, rawURL, err)
	}
	return nil
}

// Finding is one request that failed validation.
type Finding struct {
	Request fakeserver.RecordedRequest
	Err     error
}

func (f Finding) String() string { return f.Err.Error() }

// CheckRequests validates recorded requests (fakeserver.Server.Requests). Requests to Emby's
// undocumented GET /Users are skipped (gap 7); every other failure is a finding.
func (v *Validator) CheckRequests(reqs []fakeserver.RecordedRequest) []Finding {
	var out []Finding
	for _, r := range reqs {
		if v.emby && r.Route == "GET /Users" {
			continue
		}
		if err := v.ValidateRequest(context.Background(), r.Method, r.URL, r.Header, r.Body); err != nil {
			out = append(out, Finding{Request: r, Err: err})
		}
	}
	return out
}

// Middleware validates every request (before) and 2xx response (after) passing to next,
// reporting failures to report; traffic is never altered. report may be called from
// concurrent requests.
func (v *Validator) Middleware(next http.Handler, report func(error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_ = r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
		skip := v.emby && r.Method == http.MethodGet && strings.EqualFold(strings.TrimSuffix(strings.TrimPrefix(strings.ToLower(r.URL.Path), "/emby"), "/"), "/users")
		if !skip {
			if err := v.ValidateRequest(r.Context(), r.Method, r.URL.RequestURI(), r.Header, body); err != nil {
				report(err)
			}
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		if !skip {
			if err := v.ValidateResponse(r.Context(), r.Method, r.URL.RequestURI(), r.Header, body, rec.Code, rec.Header(), rec.Body.Bytes()); err != nil {
				report(err)
			}
		}
		for k, vs := range rec.Header() {
			w.Header()[k] = vs
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}
