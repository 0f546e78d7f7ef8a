package store

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"time"
)

// Delivery outcomes.
const (
	DeliveryPending   = "pending"
	DeliveryApplied   = "applied"   // parsed and merged (possibly changing nothing)
	DeliveryIgnored   = "ignored"   // valid, but nothing to sync (filters, event kinds, unmapped accounts)
	DeliveryRejected  = "rejected"  // could not be parsed
	DeliveryUnmatched = "unmatched" // parsed, but no GUID or known id to match on
)

// Delivery is one webhook request as received, before parsing, then its
// outcome. The raw body is kept while pending and, for rejected deliveries,
// afterwards, so a person can see what the server sent.
type Delivery struct {
	ID         uint64      `json:"id"`
	User       string      `json:"user"` // "*" for a backend-wide token
	Backend    string      `json:"backend"`
	ReceivedAt time.Time   `json:"received_at"`
	Method     string      `json:"method,omitempty"`
	Query      string      `json:"query,omitempty"` // the request URL's raw query
	Header     http.Header `json:"header,omitempty"`
	Body       []byte      `json:"body,omitempty"`
	Truncated  bool        `json:"truncated,omitempty"`
	Status     string      `json:"status"`
	Reason     string      `json:"reason,omitempty"`
	Changes    int         `json:"changes,omitempty"`
	FinishedAt time.Time   `json:"finished_at,omitzero"`
}

// AddDeliveries commits deliveries to the inbox in one transaction, assigning
// ids in arrival order. The caller acknowledges the webhook only after this
// returns nil: nothing acknowledged is lost.
func (s *Store) AddDeliveries(ds ...*Delivery) error {
	return s.Batch(func(t *Tx) error {
		b := t.bucket(bucketInbox)
		for _, d := range ds {
			// A Batch function may run twice; assign ids only once.
			if d.ID == 0 {
				id, err := t.bucket(bucketDeliveries).NextSequence()
				if err != nil {
					return fmt.Errorf("store: next delivery id: %w", err)
				}
				d.ID = id
			}
			d.Status = DeliveryPending
			if err := putJSON(b, u64(d.ID), d); err != nil {
				return fmt.Errorf("store: add delivery: %w", err)
			}
		}
		return nil
	})
}

// PendingDeliveries returns up to limit pending deliveries, oldest first.
func (s *Store) PendingDeliveries(limit int) ([]*Delivery, error) {
	var out []*Delivery
	err := s.View(func(t *Tx) error {
		c := t.bucket(bucketInbox).Cursor()
		for k, v := c.First(); k != nil && len(out) < limit; k, v = c.Next() {
			var d Delivery
			if err := json.Unmarshal(v, &d); err != nil {
				return fmt.Errorf("store: decode delivery %d: %w", fromU64(k), err)
			}
			out = append(out, &d)
		}
		return nil
	})
	return out, err
}

// FinishDelivery moves a delivery from the inbox to the outcome log with its
// status and reason. Run it in the same transaction as the merge it caused so
// a crash can neither lose nor repeat the delivery. The body is dropped unless
// the delivery was rejected.
func (t *Tx) FinishDelivery(d *Delivery, status, reason string, changes int, now time.Time) error {
	if err := t.bucket(bucketInbox).Delete(u64(d.ID)); err != nil {
		return err
	}
	d.Status, d.Reason, d.Changes, d.FinishedAt = status, reason, changes, now
	if status != DeliveryRejected {
		d.Body, d.Header = nil, nil
	}
	return putJSON(t.bucket(bucketDeliveries), u64(d.ID), d)
}

// ListDeliveries returns up to limit finished deliveries, newest first,
// optionally only those of backend.
func (s *Store) ListDeliveries(backend string, limit int) ([]*Delivery, error) {
	var out []*Delivery
	err := s.View(func(t *Tx) error {
		c := t.bucket(bucketDeliveries).Cursor()
		for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
			var d Delivery
			if err := json.Unmarshal(v, &d); err != nil {
				return fmt.Errorf("store: decode delivery %d: %w", fromU64(k), err)
			}
			if backend == "" || d.Backend == backend {
				out = append(out, &d)
			}
		}
		return nil
	})
	return out, err
}

// InboxDepth returns the number of deliveries waiting to be processed.
func (s *Store) InboxDepth() (int, error) {
	var n int
	err := s.View(func(t *Tx) error {
		n = t.bucket(bucketInbox).Stats().KeyN
		return nil
	})
	return n, err
}

// --- webhook tokens ---

// Token is a webhook token naming (user, backend); User "*" is a backend-wide
// token whose payload's account picks the user.
type Token struct {
	User      string    `json:"user"`
	Backend   string    `json:"backend"`
	Token     string    `json:"token"`
	CreatedAt time.Time `json:"created_at"`
}

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// PutToken stores tok for (tok.User, tok.Backend), replacing and invalidating
// any previous token of that pair in the same transaction.
func (s *Store) PutToken(tok Token) error {
	return s.Update(func(t *Tx) error {
		b := t.bucket(bucketTokens)
		key := joinKey(tok.User, tok.Backend)
		var old Token
		if ok, err := getJSON(b, key, &old); err != nil {
			return err
		} else if ok {
			if err := t.bucket(bucketIdxToken).Delete(tokenHash(old.Token)); err != nil {
				return err
			}
		}
		if err := putJSON(b, key, &tok); err != nil {
			return fmt.Errorf("store: put token for %s/%s: %w", tok.User, tok.Backend, err)
		}
		return t.bucket(bucketIdxToken).Put(tokenHash(tok.Token), key)
	})
}

// LookupToken finds the token's (user, backend). The lookup is by SHA-256 of
// the presented token and the stored token is compared in constant time, so
// response timing says nothing about how close a guess was.
func (s *Store) LookupToken(token string) (Token, bool, error) {
	var tok Token
	found := false
	err := s.View(func(t *Tx) error {
		key := t.bucket(bucketIdxToken).Get(tokenHash(token))
		if key == nil {
			return nil
		}
		ok, err := getJSON(t.bucket(bucketTokens), key, &tok)
		if err != nil || !ok {
			return err
		}
		found = subtle.ConstantTimeCompare([]byte(tok.Token), []byte(token)) == 1
		return nil
	})
	return tok, found, err
}

// ListTokens returns every token sorted by backend, then user.
func (s *Store) ListTokens() ([]Token, error) {
	var out []Token
	err := s.View(func(t *Tx) error {
		return t.bucket(bucketTokens).ForEach(func(k, v []byte) error {
			var tok Token
			if err := json.Unmarshal(v, &tok); err != nil {
				return fmt.Errorf("store: decode token: %w", err)
			}
			out = append(out, tok)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool {
		if out[i].Backend != out[j].Backend {
			return out[i].Backend < out[j].Backend
		}
		return out[i].User < out[j].User
	})
	return out, err
}

// --- per-backend counters and unmatched observations ---

// BackendStats counts what the engine could not use from one backend.
type BackendStats struct {
	Unmatched int `json:"unmatched"`
	Conflicts int `json:"conflicts"`
	Stale     int `json:"stale"`
}

// Unmatched is an observation keepwatch could not match to anything: no GUID
// and no known remote id. Listed by the API so nothing is silently lost.
type Unmatched struct {
	Backend  string    `json:"backend"`
	RemoteID string    `json:"remote_id"`
	Title    string    `json:"title,omitempty"`
	Kind     string    `json:"kind,omitempty"`
	Reason   string    `json:"reason"`
	LastSeen time.Time `json:"last_seen"`
}

// AddStats adds delta to backend's counters.
func (t *Tx) AddStats(backend string, delta BackendStats) error {
	b := t.bucket(bucketStats)
	var cur BackendStats
	if _, err := getJSON(b, []byte(backend), &cur); err != nil {
		return err
	}
	cur.Unmatched += delta.Unmatched
	cur.Conflicts += delta.Conflicts
	cur.Stale += delta.Stale
	return putJSON(b, []byte(backend), &cur)
}

// Stats returns every backend's counters.
func (s *Store) Stats() (map[string]BackendStats, error) {
	out := map[string]BackendStats{}
	err := s.View(func(t *Tx) error {
		return t.bucket(bucketStats).ForEach(func(k, v []byte) error {
			var st BackendStats
			if err := json.Unmarshal(v, &st); err != nil {
				return err
			}
			out[string(k)] = st
			return nil
		})
	})
	return out, err
}

// PutUnmatched records (or refreshes) an unmatched observation.
func (t *Tx) PutUnmatched(u *Unmatched) error {
	return putJSON(t.bucket(bucketUnmatched), joinKey(u.Backend, u.RemoteID), u)
}

// ListUnmatched returns up to limit unmatched observations of backend ("" for all).
func (s *Store) ListUnmatched(backend string, limit int) ([]Unmatched, error) {
	var out []Unmatched
	err := s.View(func(t *Tx) error {
		c := t.bucket(bucketUnmatched).Cursor()
		prefix := []byte{}
		if backend != "" {
			prefix = joinKey(backend, "")
		}
		for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix) && len(out) < limit; k, v = c.Next() {
			var u Unmatched
			if err := json.Unmarshal(v, &u); err != nil {
				return err
			}
			out = append(out, u)
		}
		return nil
	})
	return out, err
}
