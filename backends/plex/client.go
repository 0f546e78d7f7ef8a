package plex

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/rs/zerolog"

	"github.com/keepwatch/keepwatch/backends/internal/httpx"
	"github.com/keepwatch/keepwatch/plugins"
)

// client sends requests to PMS and plex.tv with the X-Plex-* headers every
// call needs. The token travels in the X-Plex-Token header, never in a URL, so
// no error or log line can carry it.
type client struct {
	s   settings
	log zerolog.Logger
	pms *httpx.Client // bounded by the concurrency option
	tv  *httpx.Client // plex.tv: a couple of calls per account, rarely
}

func newClient(s settings, log zerolog.Logger, minBackoff time.Duration) *client {
	hc := &http.Client{Timeout: s.timeout}
	return &client{
		s: s, log: log,
		pms: httpx.New(httpx.Options{Backend: s.name, HTTP: hc, Concurrency: s.concurrent,
			MinBackoff: minBackoff, Logger: log.With().Str("server", "pms").Logger()}),
		tv: httpx.New(httpx.Options{Backend: s.name, HTTP: hc, Concurrency: 2,
			MinBackoff: minBackoff, Logger: log.With().Str("server", "plex.tv").Logger()}),
	}
}

// request is one call: base is the PMS or plex.tv base URL.
type request struct {
	method string
	base   string
	path   string
	query  url.Values
	raw    string // an ordered query, used instead of query (media-query filters)
	token  string
	header http.Header // extra headers (paging)
	xml    bool        // plex.tv v1 answers XML only
	plexTV bool        // sent through the plex.tv client
}

func (r request) encodedQuery() string {
	q := r.query.Encode()
	switch {
	case r.raw == "":
		return q
	case q == "":
		return r.raw
	}
	return q + "&" + r.raw
}

func (c *client) do(ctx context.Context, r request) (*http.Response, error) {
	u := r.base + r.path
	if q := r.encodedQuery(); q != "" {
		u += "?" + q
	}
	h := http.Header{}
	for k, v := range r.header {
		h[k] = v
	}
	if !r.xml {
		// PMS and plex.tv v2 answer XML unless asked for JSON.
		h.Set("Accept", "application/json")
	}
	h.Set("X-Plex-Token", r.token)
	h.Set("X-Plex-Client-Identifier", c.s.clientID)
	h.Set("X-Plex-Product", "keepwatch")
	h.Set("X-Plex-Version", Version)
	hc := c.pms
	if r.plexTV {
		hc = c.tv
	}
	// Every call keepwatch makes sets state or reads it, so a repeat is
	// harmless: 5xx and transport errors are retried too.
	return hc.Do(ctx, httpx.Request{Method: r.method, URL: u, Header: h, Idempotent: true})
}

// decode sends r and decodes the answer into out (JSON, or XML when r.xml).
func (c *client) decode(ctx context.Context, r request, out any) error {
	resp, err := c.do(ctx, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if r.xml {
		err = xml.NewDecoder(resp.Body).Decode(out)
	} else {
		err = json.NewDecoder(resp.Body).Decode(out)
	}
	if err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", r.method, r.path, err)
	}
	// Drain what the decoder left so the connection is reused.
	_, _ = io.Copy(io.Discard, resp.Body)
	return nil
}

// get reads a PMS document with token.
func (c *client) get(ctx context.Context, token, path string, q url.Values, out any) error {
	return c.decode(ctx, request{method: http.MethodGet, base: c.s.url, path: path, query: q, token: token}, out)
}

// getPage reads one page of a PMS listing. Paging goes in the
// X-Plex-Container-* headers, as PMS clients send it.
// filter is an ordered media-query suffix ("" for none).
func (c *client) getPage(ctx context.Context, token, path string, q url.Values, filter string, start, size int, out *container) error {
	h := http.Header{}
	h.Set("X-Plex-Container-Start", itoa(int64(start)))
	h.Set("X-Plex-Container-Size", itoa(int64(size)))
	return c.decode(ctx, request{method: http.MethodGet, base: c.s.url, path: path, query: q, raw: filter, token: token, header: h}, out)
}

// isAuth reports a 401 (the token is wrong or was rotated). A 403 is a right the
// token lacks, which a fresh token does not fix.
func isAuth(err error) bool {
	var ae *httpx.AuthError
	return errors.As(err, &ae) && ae.Status == http.StatusUnauthorized
}

// isNotFound reports a 404: the item or section is gone.
func isNotFound(err error) bool { return httpx.IsStatus(err, http.StatusNotFound) }

// isDown reports an error that says nothing about the request itself: the
// server did not answer, or answered that it cannot serve now.
func isDown(err error) bool {
	var se *httpx.StatusError
	if errors.As(err, &se) {
		return se.Status >= 500 || se.Status == http.StatusTooManyRequests
	}
	return err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// unavailable marks err as "the server may answer later" for the host.
func unavailable(err error) error {
	if isDown(err) {
		return fmt.Errorf("%w: %w", plugins.ErrUnavailable, err)
	}
	return err
}
