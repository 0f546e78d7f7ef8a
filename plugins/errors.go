package plugins

import (
	"errors"
	"fmt"
)

// Sentinel errors. They survive the trip across the plugin wire: test with
// errors.Is.
var (
	// ErrUnsupported answers a call to a capability the backend lacks.
	ErrUnsupported = errors.New("not supported by this backend")
	// ErrUnavailable answers a call the plugin cannot take now: its process
	// died (the call was in flight or the supervisor is restarting it) or
	// is not ready yet. Callers retry later; nothing is lost.
	ErrUnavailable = errors.New("plugin unavailable")
	// ErrInvalidConfig is matched by every *ConfigError.
	ErrInvalidConfig = errors.New("invalid backend configuration")
	// ErrRejected is matched by every *RejectedError.
	ErrRejected = errors.New("webhook rejected")
	// ErrNotConfigured answers calls made before a successful Configure.
	ErrNotConfigured = errors.New("backend not configured")
)

// ConfigError is a configuration a backend refuses. It names the field, the
// value and the fix.
type ConfigError struct {
	// Field is the configuration key ("url", "token", "options.section").
	Field string
	// Value is the offending value; empty for secrets and missing values.
	Value string
	// Problem says what is wrong and how to fix it.
	Problem string
}

// InvalidConfig makes a *ConfigError. Leave value empty when it is a secret.
func InvalidConfig(field, value, problem string) error {
	return &ConfigError{Field: field, Value: value, Problem: problem}
}

func (e *ConfigError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("config field %q: %s", e.Field, e.Problem)
	}
	return fmt.Sprintf("config field %q: value %q: %s", e.Field, e.Value, e.Problem)
}

// Is makes errors.Is(err, ErrInvalidConfig) true.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

// RejectedError is a webhook delivery that cannot be parsed.
type RejectedError struct {
	// Reason says what is wrong with the delivery.
	Reason string
}

// Reject makes a *RejectedError; the arguments format the reason.
func Reject(format string, args ...any) error {
	return &RejectedError{Reason: fmt.Sprintf(format, args...)}
}

func (e *RejectedError) Error() string { return "webhook rejected: " + e.Reason }

// Is makes errors.Is(err, ErrRejected) true.
func (e *RejectedError) Is(target error) bool { return target == ErrRejected }
