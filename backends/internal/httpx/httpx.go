package httpx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// Options configures a Client. Zero values take the defaults in brackets.
type Options struct {
	// Backend names the configured backend ("plex-home") in errors.
	Backend string
	// HTTP is the transport [a client with a 30 s timeout].
	HTTP *http.Client
	// Concurrency bounds the requests in flight to the server [4].
	Concurrency int
	// Retries is how many times a retryable failure is retried [4]; a
	// negative value disables retries.
	Retries int
	// MinBackoff and MaxBackoff bound the wait between attempts [250 ms, 10 s].
	MinBackoff, MaxBackoff time.Duration
	// Logger receives one debug line per retry.
	Logger zerolog.Logger
}

// Client sends requests to one server.
type Client struct {
	opts  Options
	slots chan struct{}
}

// New builds a Client.
func New(opts Options) *Client {
	if opts.HTTP == nil {
		opts.HTTP = &http.Client{Timeout: 30 * time.Second}
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	switch {
	case opts.Retries == 0:
		opts.Retries = 4
	case opts.Retries < 0:
		opts.Retries = 0
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 250 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 10 * time.Second
	}
	return &Client{opts: opts, slots: make(chan struct{}, opts.Concurrency)}
}

// StatusError is an answer with a status the caller did not accept.
type StatusError struct {
	Method string
	URL    string // redacted
	Status int
	Body   string // the start of the answer's body, for the journal
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s %s: %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// Permanent reports whether retrying the same request cannot help: a 4xx
// other than 408 and 429.
func (e *StatusError) Permanent() bool {
	return e.Status >= 400 && e.Status < 500 && e.Status != http.StatusRequestTimeout && e.Status != http.StatusTooManyRequests
}

// AuthError is a 401 or 403: the credentials are wrong, or lack the right.
type AuthError struct {
	Backend string
	*StatusError
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("%s: authentication failed (%d %s) on %s %s: check the backend's token", e.Backend, e.Status, http.StatusText(e.Status), e.Method, e.URL)
}

func (e *AuthError) Unwrap() error { return e.StatusError }

// IsStatus reports whether err is a StatusError (or AuthError) with status.
func IsStatus(err error, status int) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Status == status
}

// Request is what Do sends. Body, when set, is replayed on every attempt.
type Request struct {
	Method string
	URL    string
	Header http.Header
	Body   []byte
	// Idempotent requests are retried after transport errors; others only
	// after an answer that says the request was not processed (429, 503).
	Idempotent bool
}

// Do sends req, retrying what may be retried, and answers the response of
// the first attempt with a 2xx status. The caller closes its body. Any other
// final status is a *StatusError (or *AuthError for 401/403) carrying the
// start of the body.
func (c *Client) Do(ctx context.Context, req Request) (*http.Response, error) {
	if err := c.acquire(ctx); err != nil {
		return nil, err
	}
	defer c.release()
	var last error
	for attempt := 0; ; attempt++ {
		resp, err := c.once(ctx, req)
		if err == nil {
			return resp, nil
		}
		last = err
		wait, retry := c.retryable(req, err, attempt)
		if !retry {
			return nil, last
		}
		c.opts.Logger.Debug().Err(err).Int("attempt", attempt+1).Dur("wait", wait).Msg("retrying request")
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%w (after: %v)", ctx.Err(), last)
		case <-t.C:
		}
	}
}

func (c *Client) acquire(ctx context.Context) error {
	select {
	case c.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) release() { <-c.slots }

// retryAfter carries a server's Retry-After wish out of once.
type retryAfter struct {
	*StatusError
	after time.Duration
}

func (e *retryAfter) Unwrap() error { return e.StatusError }

func (c *Client) once(ctx context.Context, req Request) (*http.Response, error) {
	var body io.Reader
	if req.Body != nil {
		body = strings.NewReader(string(req.Body))
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, req.URL, body)
	if err != nil {
		return nil, fmt.Errorf("build %s %s: %w", req.Method, Redact(req.URL), err)
	}
	for k, vs := range req.Header {
		hr.Header[k] = vs
	}
	resp, err := c.opts.HTTP.Do(hr)
	if err != nil {
		// url.Error repeats the URL with its query (tokens): replace it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%s %s: %w", req.Method, Redact(req.URL), err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	se := &StatusError{Method: req.Method, URL: Redact(req.URL), Status: resp.StatusCode, Body: strings.TrimSpace(string(snippet))}
	if se.Status == http.StatusUnauthorized || se.Status == http.StatusForbidden {
		return nil, &AuthError{Backend: c.opts.Backend, StatusError: se}
	}
	if ra := parseRetryAfter(resp.Header.Get("Retry-After")); ra > 0 {
		return nil, &retryAfter{StatusError: se, after: ra}
	}
	return nil, se
}

func (c *Client) retryable(req Request, err error, attempt int) (time.Duration, bool) {
	if attempt >= c.opts.Retries {
		return 0, false
	}
	wait := c.backoff(attempt)
	var ra *retryAfter
	if errors.As(err, &ra) {
		return min(max(ra.after, wait), c.opts.MaxBackoff), true
	}
	var se *StatusError
	if errors.As(err, &se) {
		switch {
		case se.Status == http.StatusTooManyRequests, se.Status == http.StatusServiceUnavailable:
			return wait, true
		case se.Status >= 500:
			return wait, req.Idempotent
		default:
			return 0, false
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return 0, false
	}
	return wait, req.Idempotent
}

// backoff is capped exponential with full jitter in its upper half, so
// retries of many writers spread out instead of arriving together.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.opts.MinBackoff << min(attempt, 20)
	if d <= 0 || d > c.opts.MaxBackoff {
		d = c.opts.MaxBackoff
	}
	return d/2 + rand.N(d/2+1)
}

func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}

// secretParams are query parameters that carry credentials on the servers we
// talk to.
var secretParams = []string{"X-Plex-Token", "api_key", "apikey", "ApiKey", "token"}

// Redact returns rawURL with credentials in the user info and the query
// replaced, for errors and logs.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "<unparsable url>"
	}
	if u.User != nil {
		u.User = url.User("redacted")
	}
	q := u.Query()
	changed := false
	for k := range q {
		for _, s := range secretParams {
			if strings.EqualFold(k, s) {
				q.Set(k, "redacted")
				changed = true
			}
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}
