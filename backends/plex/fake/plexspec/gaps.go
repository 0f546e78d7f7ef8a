package plexspec

import "strings"

// Skip says which half of a pair a gap leaves unchecked.
type Skip uint8

const (
	SkipNone     Skip = 0
	SkipRequest  Skip = 1
	SkipResponse Skip = 2
	SkipAll           = SkipRequest | SkipResponse
)

// Gap is a place where real Plex (and so the fake, and a client written for it)
// differs from plex-openapi.yaml. A matching pair is validated against SpecMethod /
// SpecPath instead, or not at all (Skip).
type Gap struct {
	Method string // "" matches any method
	// Path is matched segment by segment; "{name}" matches one segment, a trailing
	// "/" on the request is ignored.
	Path       string
	SpecMethod string // validate as this method instead
	SpecPath   string // validate as this path ({name} filled from Path)
	Skip       Skip
	// NoQueryCheck skips query parameter validation of the request (the rest of the
	// request and the response are still checked).
	NoQueryCheck bool
	Reason       string
}

// Gaps are the known differences between real Plex and plex-openapi.yaml 1.1.1,
// each with the reason it is skipped or re-routed.
var Gaps = []Gap{
	{Method: "GET", Path: "/library/sections", SpecPath: "/library/sections/all",
		Reason: "the spec names only /library/sections/all; PMS also serves /library/sections with the same MediaContainer.Directory[] (python-plexapi, Tautulli and WatchState use it)"},
	{Method: "HEAD", Path: "*", SpecMethod: "GET",
		Reason: "the spec has no HEAD operations; PMS answers HEAD like GET without a body (WatchState counts a library with HEAD /library/sections/{key}/all): request and headers are checked as GET, the body is not"},
	{Method: "GET", Path: "/:/scrobble", SpecMethod: "PUT",
		Reason: "the spec declares PUT and says \"This API does respond to the GET verb\"; the legacy spec had GET only"},
	{Method: "GET", Path: "/:/unscrobble", SpecMethod: "PUT",
		Reason: "as /:/scrobble: GET is accepted by PMS, the spec declares PUT"},
	{Path: "/:/progress", Skip: SkipAll,
		Reason: "not in the current spec; only the legacy 0.0.3 spec has it (POST key, time, state); PMS accepts GET/PUT/POST"},
	{Method: "GET", Path: "/accounts", Skip: SkipAll,
		Reason: "PMS's server-local account list (owner = 1) is not in the spec"},
	{Method: "GET", Path: "/library/metadata/{id}/children", SpecPath: "/library/metadata/{id}/allLeaves",
		Reason: "children is not in the spec (it would route to /library/metadata/{ids}/{element}); it answers the same MediaContainerWithMetadata as allLeaves"},
	{Method: "GET", Path: "/api/v2/resources", SpecPath: "/resources", NoQueryCheck: true,
		Reason: "a plex.tv operation: the spec declares /resources on server https://plex.tv/api/v2, the fake serves plex.tv routes by path; its includeHttps/includeRelay/includeIPv6 are allOf[BoolInt, default] schemas that kin-openapi v0.152 cannot decode (\"empty value is not allowed\" for 1), so query parameters are not checked"},
	{Method: "GET", Path: "/api/v2/user", SpecPath: "/user",
		Reason: "a plex.tv operation: the spec declares /user on server https://plex.tv/api/v2"},
	{Method: "GET", Path: "/api/users", SpecPath: "/users",
		Reason: "a plex.tv operation: the spec declares /users on server https://plex.tv/api (JSON; the XML default is not described)"},
	{Method: "GET", Path: "/api/v2/home/users", Skip: SkipAll,
		Reason: "plex.tv Home user list is not in the spec"},
	{Method: "POST", Path: "/api/v2/home/users/{id}/switch", Skip: SkipAll,
		Reason: "plex.tv Home user switch (authToken for a Home user) is not in the spec"},
	{Method: "GET", Path: "/api/servers/{machineIdentifier}/shared_servers", Skip: SkipAll,
		Reason: "plex.tv shared_servers (server tokens of shared users, XML) is not in the spec"},
}

// Notes are spec gaps that need no routing rule, and how the validator treats them.
var Notes = []string{
	"XML responses (PMS's default without Accept: application/json, and plex.tv v1) are not validated: the spec describes JSON only. Requests are still checked.",
	"Error pages the spec does not list for an operation (PMS's 401 HTML page, 403/404, injected 429/5xx) are not validated; declared ones are.",
	"Media-query filters (lastViewedAt>>=…, unwatched=1, push/pop/or) are not in the MediaQuery schema; kin-openapi ignores undeclared query parameters, so they pass unchecked.",
	"includeGuids is declared on listContent but not on getMetadataItem; undeclared, it is ignored there.",
	"X-Plex-Token sent as a query parameter instead of the header is accepted (PMS takes every X-Plex-* value both ways).",
	"X-Plex-Client-Identifier is required by almost every operation in the spec; PMS only enforces it for /:/timeline, but the validator keeps the spec's rule for client requests.",
	"doc.Validate is not run: the spec fails it (duplicate X-Plex-Client-Identifier on /:/timeline, examples that break their schemas).",
	"The spec's plex.direct server template is dropped (gorillamux: duplicated route variable \"identifier\"); every path is routed on one plain server.",
	"HEAD, scrobble GET and the plex.tv paths above are re-routed, not skipped: see Gaps.",
}

func splitPath(p string) []string {
	p = strings.TrimSuffix(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(strings.TrimPrefix(p, "/"), "/")
}

// match reports whether a request path matches the gap's Path, returning the values
// of its {name} segments.
func (g *Gap) match(method, path string) (map[string]string, bool) {
	if g.Method != "" && g.Method != method {
		return nil, false
	}
	if g.Path == "*" {
		return nil, true
	}
	pat, got := splitPath(g.Path), splitPath(path)
	if len(pat) != len(got) {
		return nil, false
	}
	vars := map[string]string{}
	for i, p := range pat {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			vars[p] = got[i]
			continue
		}
		if p != got[i] {
			return nil, false
		}
	}
	return vars, true
}

func (g *Gap) specPath(path string) string {
	vars, _ := g.match(g.Method, path)
	out := g.SpecPath
	for k, v := range vars {
		out = strings.ReplaceAll(out, k, v)
	}
	return out
}

func findGap(method, path string) *Gap {
	for i := range Gaps {
		if _, ok := Gaps[i].match(method, path); ok {
			g := Gaps[i]
			return &g
		}
	}
	return nil
}
