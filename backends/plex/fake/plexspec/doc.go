// Package plexspec checks Plex HTTP traffic against plex-openapi.yaml (the
// community Plex Media Server OpenAPI spec 1.1.1, LukeHagar/plex-api-spec, copied to
// testdata/ and embedded) with kin-openapi's openapi3filter.
//
// It serves two kinds of test: a fake server's answers (wrap the fake in a Recorder)
// and a client's requests (wrap the fake, or call ValidateRequest on a request the
// client built). Where real Plex and the spec disagree, Gaps re-routes or skips the
// pair, each with its reason; Notes lists the rest. The package is separate from the
// fake so the fake itself carries neither the 650 KB spec nor kin-openapi.
package plexspec
