package api

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/keepwatch/keepwatch/core/store"
)

// AllUsers is the user of a backend-wide webhook token: the payload's
// account picks the user through the account directory.
const AllUsers = "*"

// NewToken returns a random webhook token: 192 bits, URL-safe.
func NewToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("api: generate token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// TokenPair names one (user, backend) a token is issued for.
type TokenPair struct{ User, Backend string }

// EnsureTokens issues a token for every pair that has none yet; existing
// tokens are kept, so webhook URLs stay valid across restarts.
func EnsureTokens(st *store.Store, pairs []TokenPair, now time.Time) error {
	have, err := st.ListTokens()
	if err != nil {
		return err
	}
	exists := map[TokenPair]bool{}
	for _, t := range have {
		exists[TokenPair{t.User, t.Backend}] = true
	}
	for _, p := range pairs {
		if exists[p] {
			continue
		}
		if _, err := RotateToken(st, p.User, p.Backend, now); err != nil {
			return err
		}
		exists[p] = true
	}
	return nil
}

// TokenWriter stores a token; *store.Store is one.
type TokenWriter interface {
	PutToken(tok store.Token) error
}

// RotateToken replaces the token of (user, backend): PutToken swaps the
// token and its index entry in one transaction, so the old URL stops
// working at once.
func RotateToken(st TokenWriter, user, backend string, now time.Time) (store.Token, error) {
	tok, err := NewToken()
	if err != nil {
		return store.Token{}, err
	}
	t := store.Token{User: user, Backend: backend, Token: tok, CreatedAt: now.UTC()}
	if err := st.PutToken(t); err != nil {
		return store.Token{}, fmt.Errorf("api: rotate token for %s/%s: %w", user, backend, err)
	}
	return t, nil
}

// WebhookURL is the URL a server is given for token.
func WebhookURL(publicURL, token string) string {
	return strings.TrimRight(publicURL, "/") + "/webhook/" + token
}
