package config

import (
	"encoding/json"
	"fmt"
	"io"
)

// redacted is what a set Secret shows instead of its value.
const redacted = "[redacted]"

// Secret is a credential (a backend token, the API key). It prints, formats
// and marshals (JSON, YAML) as "[redacted]", so a Config handed to a logger or
// fmt never leaks it; Value returns the real text. The zero Secret is unset and
// shows as "".
type Secret struct {
	value string
}

// NewSecret wraps value.
func NewSecret(value string) Secret { return Secret{value: value} }

// Value returns the secret text. Call it only where the credential is used.
func (s Secret) Value() string { return s.value }

// IsSet reports whether the secret is non-empty.
func (s Secret) IsSet() bool { return s.value != "" }

// Equal reports whether two secrets hold the same text (go-cmp uses it).
func (s Secret) Equal(o Secret) bool { return s.value == o.value }

// String returns "[redacted]", or "" when unset.
func (s Secret) String() string {
	if s.value == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return fmt.Sprintf("config.Secret(%q)", s.String()) }

// Format makes every fmt verb (%v, %s, %q, %x, ...) print the redacted form.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, s.GoString())
		return
	}
	_, _ = io.WriteString(f, s.String())
}

// MarshalJSON writes the redacted form (zerolog's Interface uses JSON).
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalYAML writes the redacted form.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }
