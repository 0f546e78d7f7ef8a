package fakeserver

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"
)

// Start builds a fake from cfg, serves it with httptest and registers
// cleanup (webhooks are flushed, then the listener closed). It fails the
// test on a bad configuration. The Jellyfin and Emby fakes' Start call it.
func Start(tb testing.TB, cfg Config) (*Server, *httptest.Server) {
	tb.Helper()
	s, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ts := httptest.NewServer(s)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.FlushWebhooks(ctx)
		ts.Close()
	})
	return s, ts
}
