package fake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"sync"
)

// DefaultVersion is the PMS version the fake reports unless Options.Version is set.
const DefaultVersion = "1.40.2.8395-c67dce28e"

// delivery is one webhook POST to make.
type delivery struct {
	url     string
	event   string
	account int // plex.tv id of the webhook's account
	payload []byte
	thumb   bool
}

// WebhookDelivery records one webhook POST the fake made.
type WebhookDelivery struct {
	URL     string
	Event   string
	Account int    // plex.tv id of the account the webhook is configured on
	Status  int    // receiver's status; 0 when the request failed
	Err     string // transport error, if any
	Payload []byte // the payload part (JSON)
	Thumb   bool   // whether a thumb part was attached
}

// thumbEvents carry a poster JPEG as the "thumb" part.
var thumbEvents = map[string]bool{"media.play": true, "media.rate": true, "library.new": true, "library.on.deck": true, "playback.started": true}

// AddWebhook configures one more webhook URL (see Webhook).
func (s *Server) AddWebhook(w Webhook) error {
	if w.URL == "" {
		return fmt.Errorf("plex fake: AddWebhook: URL is empty")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if w.Account != 0 {
		found := false
		for _, a := range s.accounts {
			found = found || a.ID == w.Account
		}
		if !found {
			return fmt.Errorf("plex fake: AddWebhook: Account %d is not a configured user id; use 0 for the owner", w.Account)
		}
	}
	s.opts.Webhooks = append(s.opts.Webhooks, w)
	return nil
}

// WebhookDeliveries returns every webhook POST made so far, oldest first.
func (s *Server) WebhookDeliveries() []WebhookDelivery {
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	return append([]WebhookDelivery(nil), s.deliveries...)
}

func (s *Server) accountByID(id int) *account {
	for _, a := range s.accounts {
		if a.ID == id {
			return a
		}
	}
	return nil
}

// webhooksLocked builds the deliveries of events by actor about item idx. The owner's
// webhooks get every account's events ("user" true only for the owner's own); any
// other account's webhooks get only that account's events. The caller holds s.mu.
func (s *Server) webhooksLocked(events []string, actor *account, idx int32, pl player) []delivery {
	var out []delivery
	st := actor.states[idx]
	for _, ev := range events {
		for _, w := range s.opts.Webhooks {
			wa := s.owner()
			if w.Account != 0 {
				wa = s.accountByID(w.Account)
			}
			var userFlag, ownerFlag bool
			switch {
			case wa.Kind == Owner:
				userFlag, ownerFlag = actor == wa, true
			case wa == actor:
				userFlag, ownerFlag = true, false
			default:
				continue
			}
			out = append(out, delivery{
				url: w.URL, event: ev, account: wa.ID, thumb: thumbEvents[ev],
				payload: s.payloadLocked(ev, userFlag, ownerFlag, actor, idx, &pl, &st),
			})
		}
	}
	return out
}

// libraryNewLocked builds library.new deliveries for every webhook whose account can
// see the item's section. The caller holds s.mu.
func (s *Server) libraryNewLocked(idx int32) []delivery {
	var out []delivery
	sec := s.sections[s.items[idx].section]
	for _, w := range s.opts.Webhooks {
		wa := s.owner()
		if w.Account != 0 {
			wa = s.accountByID(w.Account)
		}
		if !wa.canSee(sec) {
			continue
		}
		st := wa.states[idx]
		out = append(out, delivery{
			url: w.URL, event: "library.new", account: wa.ID, thumb: true,
			payload: s.payloadLocked("library.new", true, wa.Kind == Owner, wa, idx, nil, &st),
		})
	}
	return out
}

// webhookAccountID is the Account.id a webhook gives a user: the owner is 1 or its
// plex.tv id (Options.OwnerWebhookAccountID), everyone else their plex.tv id.
func (s *Server) webhookAccountID(a *account) int {
	if a.Kind == Owner {
		if s.opts.OwnerWebhookAccountID != 0 {
			return s.opts.OwnerWebhookAccountID
		}
		return 1
	}
	return a.ID
}

// payloadLocked builds the JSON of one webhook, compact as PMS sends it.
func (s *Server) payloadLocked(event string, userFlag, ownerFlag bool, actor *account, idx int32, pl *player, st *viewState) []byte {
	e := newEnc(formatJSON, nil)
	e.rootPlain()
	e.str("event", event)
	e.boolean("user", userFlag)
	e.boolean("owner", ownerFlag)
	e.object("Account")
	e.num("id", int64(s.webhookAccountID(actor)))
	e.str("thumb", avatarURL(actor))
	name := actor.Username
	if name == "" {
		name = actor.Title
	}
	e.str("title", name)
	e.close()
	e.object("Server")
	e.str("title", s.opts.FriendlyName)
	e.str("uuid", s.opts.MachineIdentifier)
	e.close()
	if pl != nil {
		e.object("Player")
		e.boolean("local", pl.local)
		e.str("publicAddress", "203.0.113.7")
		title := pl.title
		if title == "" {
			title = "Plex Web (Chrome)"
		}
		e.str("title", title)
		e.str("uuid", pl.id)
		e.close()
	}
	s.writeItem(e, idx, actor, itemView{includeGuids: true, withSection: true, state: st, webhook: true})
	return e.finish()
}

var (
	thumbOnce sync.Once
	thumbJPEG []byte
)

// ThumbJPEG is the small poster the fake attaches as the "thumb" part.
func ThumbJPEG() []byte {
	thumbOnce.Do(func() {
		img := image.NewRGBA(image.Rect(0, 0, 4, 6))
		for y := 0; y < 6; y++ {
			for x := 0; x < 4; x++ {
				img.Set(x, y, color.RGBA{R: uint8(40 * x), G: uint8(30 * y), B: 120, A: 255})
			}
		}
		var b bytes.Buffer
		if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 80}); err != nil {
			panic(fmt.Sprintf("plex fake: encode thumb: %v", err))
		}
		thumbJPEG = b.Bytes()
	})
	return append([]byte(nil), thumbJPEG...)
}

// NewWebhookRequest builds a webhook POST in PMS's shape: multipart/form-data with a
// "payload" field (Content-Type application/json) holding payload and, when thumb is
// not nil, a "thumb" file part (image/jpeg); User-Agent PlexMediaServer/<version>.
// Tests can use it to send any payload (fixtures included) the way PMS does.
func NewWebhookRequest(ctx context.Context, url string, payload, thumb []byte) (*http.Request, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	// PMS's boundary looks like curl's: 24 dashes and 22 alphanumerics.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	h := h64(uint64(len(payload)), uint64(bytesHash(payload)))
	b := make([]byte, 22)
	for i := range b {
		b[i] = alphabet[h%uint64(len(alphabet))]
		h = h64(h, uint64(i))
	}
	if err := mw.SetBoundary("------------------------" + string(b)); err != nil {
		return nil, fmt.Errorf("plex fake: webhook boundary: %w", err)
	}
	ph := textproto.MIMEHeader{}
	ph.Set("Content-Disposition", `form-data; name="payload"`)
	ph.Set("Content-Type", "application/json")
	pw, err := mw.CreatePart(ph)
	if err != nil {
		return nil, fmt.Errorf("plex fake: webhook payload part: %w", err)
	}
	if _, err := pw.Write(payload); err != nil {
		return nil, fmt.Errorf("plex fake: webhook payload part: %w", err)
	}
	if thumb != nil {
		th := textproto.MIMEHeader{}
		th.Set("Content-Disposition", `form-data; name="thumb"; filename="image.jpg"`)
		th.Set("Content-Type", "image/jpeg")
		tw, err := mw.CreatePart(th)
		if err != nil {
			return nil, fmt.Errorf("plex fake: webhook thumb part: %w", err)
		}
		if _, err := tw.Write(thumb); err != nil {
			return nil, fmt.Errorf("plex fake: webhook thumb part: %w", err)
		}
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("plex fake: webhook body: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, &body)
	if err != nil {
		return nil, fmt.Errorf("plex fake: webhook request to %s: %w", url, err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("User-Agent", "PlexMediaServer/"+DefaultVersion)
	req.Header.Set("Accept", "*/*")
	return req, nil
}

func bytesHash(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// deliver POSTs the deliveries in order, records each, and returns an error naming
// every delivery that failed (transport error or non-2xx), so a test notices a
// receiver that rejected PMS's shape.
func (s *Server) deliver(ctx context.Context, ds []delivery) error {
	var errs []error
	for _, d := range ds {
		var thumb []byte
		if d.thumb {
			thumb = ThumbJPEG()
		}
		rec := WebhookDelivery{URL: d.url, Event: d.event, Account: d.account, Payload: d.payload, Thumb: d.thumb}
		req, err := NewWebhookRequest(ctx, d.url, d.payload, thumb)
		if err == nil {
			req.Header.Set("User-Agent", "PlexMediaServer/"+s.opts.Version)
			var resp *http.Response
			resp, err = s.opts.WebhookClient.Do(req)
			if err == nil {
				_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
				_ = resp.Body.Close()
				rec.Status = resp.StatusCode
				if resp.StatusCode/100 != 2 {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
		}
		if err != nil {
			rec.Err = err.Error()
			errs = append(errs, fmt.Errorf("plex fake: webhook %s to %s: %w", d.event, d.url, err))
			s.log.Debug().Str("event", d.event).Err(err).Msg("webhook delivery failed")
		}
		s.hookMu.Lock()
		s.deliveries = append(s.deliveries, rec)
		s.hookMu.Unlock()
	}
	return errors.Join(errs...)
}
