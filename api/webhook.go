package api

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/rs/zerolog"

	"github.com/keepwatch/keepwatch/core/store"
)

// DefaultWebhookMaxBytes is the largest webhook body stored (10 MiB).
const DefaultWebhookMaxBytes = 10 << 20

// webhookAnswer is the one answer every webhook request gets, valid token or
// not, so that tokens cannot be probed.
var webhookAnswer = []byte("{\"status\":\"ok\"}\n")

// WebhookOptions configure the webhook route.
type WebhookOptions struct {
	Store *store.Store
	// Received is called after a delivery was committed (wake the inbox).
	Received func()
	// MaxBytes bounds a stored body [DefaultWebhookMaxBytes].
	MaxBytes int64
	// InvalidToken is called for each request with an unknown token.
	InvalidToken func()
	Logger       zerolog.Logger
	Now          func() time.Time
}

// Webhooks is the POST|PUT /webhook/{token} route: the raw delivery is
// committed to the inbox before the answer (bbolt's Batch groups concurrent
// senders into one commit), and processed later by the pipeline.
type Webhooks struct {
	opts WebhookOptions
	log  zerolog.Logger
}

// NewWebhooks builds the webhook route.
func NewWebhooks(opts WebhookOptions) *Webhooks {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultWebhookMaxBytes
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Webhooks{opts: opts, log: opts.Logger.With().Str("component", "webhook").Logger()}
}

// Register mounts the route on r.
func (h *Webhooks) Register(r *mux.Router) {
	r.Handle("/webhook/{token}", h).Methods(http.MethodPost, http.MethodPut)
}

// storedHeaders are the request headers a plugin may need to parse a body;
// the rest (cookies, auth, proxies' additions) is not kept.
var storedHeaders = []string{"Content-Type", "Content-Length", "User-Agent", "X-Plex-Client-Identifier",
	"X-Emby-Event", "X-Jellyfin-Event", "X-Event", "X-Request-Id"}

func (h *Webhooks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	received := h.opts.Now()
	// Read the body before looking at the token: valid and invalid tokens
	// cost the same and answer the same.
	body, stripped, truncated, err := readBody(r.Body, r.Header.Get("Content-Type"), h.opts.MaxBytes)
	if err != nil {
		h.log.Debug().Err(err).Msg("read webhook body")
	}
	tok, ok, err := h.opts.Store.LookupToken(mux.Vars(r)["token"])
	if err != nil {
		h.log.Error().Err(err).Msg("look up webhook token")
		http.Error(w, "storage unavailable", http.StatusServiceUnavailable)
		return
	}
	if !ok {
		if h.opts.InvalidToken != nil {
			h.opts.InvalidToken()
		}
		h.answer(w)
		return
	}
	header := http.Header{}
	for _, k := range storedHeaders {
		if v := r.Header.Values(k); len(v) > 0 {
			header[textproto.CanonicalMIMEHeaderKey(k)] = v
		}
	}
	if stripped {
		header.Del("Content-Length")
	}
	if truncated {
		body = nil // rejected by the processor with the reason; the bytes are not kept
	}
	d := &store.Delivery{User: tok.User, Backend: tok.Backend, ReceivedAt: received, Method: r.Method,
		Query: r.URL.RawQuery, Header: header, Body: body, Truncated: truncated}
	if err := h.opts.Store.AddDeliveries(d); err != nil {
		// Not acknowledged: the sender retries, nothing is lost.
		h.log.Error().Err(err).Str("backend", tok.Backend).Msg("commit webhook delivery")
		http.Error(w, "storage unavailable", http.StatusServiceUnavailable)
		return
	}
	if h.opts.Received != nil {
		h.opts.Received()
	}
	h.answer(w)
}

func (h *Webhooks) answer(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(webhookAnswer)
}

// maxRawBody bounds what is read of any request, file parts included, so a
// sender cannot keep a connection busy forever.
const maxRawBody = 256 << 20

// readBody reads a webhook body. A multipart/form-data body is rewritten
// without its file parts (Plex attaches the poster as a `thumb` JPEG): they
// are never parsed, and storing them would multiply the inbox's size; the
// limit applies to what is kept. truncated reports a body over the limit.
func readBody(r io.Reader, contentType string, limit int64) (body []byte, stripped, truncated bool, err error) {
	raw := io.LimitReader(r, maxRawBody)
	mt, params, perr := mime.ParseMediaType(contentType)
	if perr != nil || !strings.EqualFold(mt, "multipart/form-data") || params["boundary"] == "" {
		body, truncated, err = readLimited(raw, limit)
		return body, false, truncated, err
	}
	// Keep the raw bytes too, up to the limit: a malformed body is stored
	// as sent so that the plugin can say why it is rejected.
	var rawCopy limitedBuffer
	rawCopy.limit = limit
	mr := multipart.NewReader(io.TeeReader(raw, &rawCopy), params["boundary"])
	var out limitedBuffer
	out.limit = limit
	mw := multipart.NewWriter(&out)
	if err := mw.SetBoundary(params["boundary"]); err != nil {
		return nil, false, false, err
	}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// Malformed: store the rest as sent.
			rest, truncated, rerr := readLimited(raw, limit-int64(rawCopy.Len()))
			return append(rawCopy.Bytes(), rest...), false, truncated || rawCopy.over, errors.Join(err, rerr)
		}
		if p.FileName() != "" {
			_, _ = io.Copy(io.Discard, p)
			stripped = true
			continue
		}
		pw, err := mw.CreatePart(p.Header)
		if err == nil {
			_, err = io.Copy(pw, p)
		}
		if err != nil {
			return nil, false, false, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, false, false, err
	}
	if !stripped {
		return rawCopy.Bytes(), false, rawCopy.over, nil
	}
	return out.Bytes(), true, out.over, nil
}

// limitedBuffer keeps the first limit bytes written to it and remembers
// whether more came.
type limitedBuffer struct {
	bytes.Buffer
	limit int64
	over  bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	room := b.limit - int64(b.Len())
	if int64(len(p)) > room {
		b.over = true
		if room > 0 {
			b.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return b.Buffer.Write(p)
}

// readLimited reads at most limit bytes of r; truncated reports a body that
// was longer (the rest is drained so the connection can be reused).
func readLimited(r io.Reader, limit int64) (body []byte, truncated bool, err error) {
	if limit < 0 {
		limit = 0
	}
	body, err = io.ReadAll(io.LimitReader(r, limit+1))
	if int64(len(body)) > limit {
		_, _ = io.Copy(io.Discard, r)
		return body[:limit], true, err
	}
	return body, false, err
}
