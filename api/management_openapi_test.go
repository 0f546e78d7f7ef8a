package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/google/go-cmp/cmp"
	"github.com/gorilla/mux"
)

// loadOpenAPI parses and validates the embedded document.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(OpenAPIDocument)
	if err != nil {
		t.Fatalf("load openapi.json: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI 3 document: %v", err)
	}
	return doc
}

// TestManagementOpenAPIMatchesRouter checks that every route the router
// serves is documented, and every documented operation is served.
func TestManagementOpenAPIMatchesRouter(t *testing.T) {
	doc := loadOpenAPI(t)
	if len(doc.Servers) != 1 || doc.Servers[0].URL != APIPrefix {
		t.Fatalf("servers = %v, want one server at %s", doc.Servers, APIPrefix)
	}
	served := map[string]bool{}
	err := newMgmtFixture(t).router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		methods, err := route.GetMethods()
		if err != nil {
			return nil // the /api/v1 prefix route itself
		}
		tmpl, err := route.GetPathTemplate()
		if err != nil {
			return err
		}
		for _, m := range methods {
			served[m+" "+strings.TrimPrefix(tmpl, APIPrefix)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	if diff := cmp.Diff(documented, served); diff != "" {
		t.Errorf("routes differ (-documented +served):\n%s", diff)
	}
	if len(served) < 20 {
		t.Errorf("only %d routes served", len(served))
	}
}

// checkAgainstSpec validates one exchange against the document: the
// request (for successful calls) and the response, whose status must be
// documented. Answers from outside any route (404, 405) must be Error bodies.
func checkAgainstSpec(t *testing.T, doc *openapi3.T, router *mux.Router, req *http.Request, reqBody []byte, rec *httptest.ResponseRecorder) {
	t.Helper()
	ctx := context.Background()
	req = req.Clone(ctx)
	req.Body = io.NopCloser(bytes.NewReader(reqBody))
	var match mux.RouteMatch
	if !router.Match(req, &match) || match.MatchErr != nil {
		var body any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("answer outside the routes is not JSON: %q", rec.Body)
		}
		if err := doc.Components.Schemas["Error"].Value.VisitJSON(body); err != nil {
			t.Errorf("answer outside the routes is not an Error: %v", err)
		}
		return
	}
	tmpl, err := match.Route.GetPathTemplate()
	if err != nil {
		t.Fatal(err)
	}
	path := strings.TrimPrefix(tmpl, APIPrefix)
	item := doc.Paths.Value(path)
	if item == nil || item.GetOperation(req.Method) == nil {
		t.Fatalf("%s %s is not documented", req.Method, path)
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, MultiError: true}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: match.Vars, Options: opts,
		Route: &routers.Route{Spec: doc, Server: doc.Servers[0], Path: path, PathItem: item, Method: req.Method, Operation: item.GetOperation(req.Method)}}
	if rec.Code < 300 {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			t.Errorf("request does not match the document: %v", err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: rec.Code, Header: rec.Header(),
		Body: io.NopCloser(bytes.NewReader(rec.Body.Bytes())), Options: opts}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		t.Errorf("response %d does not match the document: %v\nbody: %s", rec.Code, err, rec.Body)
	}
}
