package fakeserver

import (
	"net/http"
	"net/url"
	"strings"
)

// authInfo is who a request acts for.
type authInfo struct {
	hasToken bool
	valid    bool
	user     int  // -1: no user (API key or anonymous)
	apiKey   bool // API keys act for no user but with administrator rights
	client   string
	device   string
	deviceID string
	version  string
}

func (a authInfo) admin(s *Server) bool {
	return a.apiKey || (a.user >= 0 && s.users[a.user].Admin)
}

// authenticate resolves the token the way the server's AuthorizationContext does.
//
// Jellyfin 10.11+ [src AuthorizationContext.cs]: the Authorization header is read first;
// only when it is empty and EnableLegacyAuthorization is on is X-Emby-Authorization read.
// The scheme must be "MediaBrowser" (or "Emby" with legacy auth). The token then comes from
// the header's Token=, else (legacy) X-Emby-Token, else (legacy) X-MediaBrowser-Token, else
// the ApiKey query parameter, else (legacy) api_key.
//
// Emby [src MediaBrowser/Emby AuthorizationContext.cs, the last open-source version; 3p:
// WatchState sends "Authorization: MediaBrowser Token=..." to Emby 4.8/4.9]:
// X-Emby-Authorization first, then Authorization, scheme "MediaBrowser" or "Emby"; token from
// Token=, X-Emby-Token, X-MediaBrowser-Token, then the api_key query parameter.
func (s *Server) authenticate(r *http.Request, q queryValues) authInfo {
	legacy := s.cfg.Flavor == Emby || s.cfg.LegacyAuth
	var header string
	if s.cfg.Flavor == Emby {
		header = r.Header.Get("X-Emby-Authorization")
		if header == "" {
			header = r.Header.Get("Authorization")
		}
	} else {
		header = r.Header.Get("Authorization")
		if header == "" && legacy {
			header = r.Header.Get("X-Emby-Authorization")
		}
	}
	params := parseAuthHeader(header, legacy)
	info := authInfo{user: -1, client: params["client"], device: params["device"], deviceID: params["deviceid"], version: params["version"]}
	token := params["token"]
	if token == "" && legacy {
		token = r.Header.Get("X-Emby-Token")
	}
	if token == "" && legacy {
		token = r.Header.Get("X-MediaBrowser-Token")
	}
	if token == "" && s.cfg.Flavor == Jellyfin {
		token = q.get("ApiKey")
	}
	if token == "" && legacy {
		token = q.get("api_key")
	}
	if token == "" {
		return info
	}
	info.hasToken = true
	if token == s.apiKey {
		info.valid, info.apiKey = true, true
		return info
	}
	for i, u := range s.users {
		if u.Token == token {
			info.valid, info.user = true, i
			return info
		}
	}
	return info
}

// parseAuthHeader splits `MediaBrowser Client="x", Token="y"` into lower-cased keys.
// Values may be quoted and are URL-decoded (the official SDKs percent-encode them).
func parseAuthHeader(h string, allowEmbyScheme bool) map[string]string {
	h = strings.TrimSpace(h)
	scheme, rest, ok := strings.Cut(h, " ")
	if !ok {
		return nil
	}
	switch {
	case strings.EqualFold(scheme, "MediaBrowser"):
	case strings.EqualFold(scheme, "Emby") && allowEmbyScheme:
	default:
		return nil
	}
	out := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || k == "" {
			continue
		}
		v = strings.Trim(strings.TrimSpace(v), `"`)
		if dec, err := url.QueryUnescape(v); err == nil {
			v = dec
		}
		out[strings.ToLower(strings.TrimSpace(k))] = v
	}
	return out
}
