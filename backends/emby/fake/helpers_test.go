package fake

import "github.com/keepwatch/keepwatch/backends/internal/mediabrowser/fakeservertest"

// The helpers are shared with the other MediaBrowser-lineage fake; only how a
// token is sent differs.
var (
	call       = fakeservertest.Call
	getJSON    = fakeservertest.GetJSON
	newSink    = fakeservertest.NewSink
	decodeHook = fakeservertest.DecodeHook
	newClock   = fakeservertest.NewClock
)

type (
	queryResult  = fakeservertest.QueryResult
	capturedHook = fakeservertest.Hook
)

func tokenAuth(token string) string { return "X-Emby-Token: " + token }
