package plugins

import (
	"errors"
	"fmt"
)

// CheckDescription explains what is wrong with a Description, or answers nil.
func CheckDescription(d Description) error {
	if !ValidType(d.Type) {
		return fmt.Errorf("description: type %q must be 1-40 lower-case letters, digits or dashes, starting with a letter", d.Type)
	}
	if d.Version == "" {
		return fmt.Errorf("description of %q: version is empty: set the plugin's version", d.Type)
	}
	return nil
}

// ValidType reports whether t can name a backend type (and so an executable
// keepwatch-backend-<t>).
func ValidType(t string) bool {
	if t == "" || len(t) > 40 || t[0] < 'a' || t[0] > 'z' {
		return false
	}
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// CheckObservation explains every way o breaks the contract, or answers nil.
func CheckObservation(o Observation) error {
	errs := checkItem(o)
	if o.AccountID == "" {
		errs = append(errs, errors.New("account id is empty"))
	}
	s := o.State
	if s.Watched && !s.WatchedKnown {
		errs = append(errs, errors.New("state says watched but WatchedKnown is false"))
	}
	if s.Progress != 0 && !s.ProgressKnown {
		errs = append(errs, fmt.Errorf("state has progress %s but ProgressKnown is false", s.Progress))
	}
	if s.Progress < 0 {
		errs = append(errs, fmt.Errorf("progress %s is negative", s.Progress))
	}
	if s.PlayCount < 0 {
		errs = append(errs, fmt.Errorf("play count %d is negative", s.PlayCount))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("observation of item %q: %w", o.ItemID, errors.Join(errs...))
}

// CheckAddedItem explains every way o breaks the contract for an entry of
// WebhookResult.Added, or answers nil: the item must be described as an
// observation's is, and carry no account and no state.
func CheckAddedItem(o Observation) error {
	errs := checkItem(o)
	if o.AccountID != "" || o.AccountName != "" {
		errs = append(errs, fmt.Errorf("an added item belongs to no account, got %q (%s)", o.AccountName, o.AccountID))
	}
	if o.State != (State{}) {
		errs = append(errs, fmt.Errorf("an added item carries no play state, got %+v", o.State))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("added item %q: %w", o.ItemID, errors.Join(errs...))
}

// CheckWebhookResult explains every way r breaks the contract, or answers
// nil: a delivery is either ignored with a reason and carries nothing, or
// carries observations or added items, each valid.
func CheckWebhookResult(r WebhookResult) error {
	var errs []error
	n := len(r.Observations) + len(r.Added)
	switch {
	case r.Ignored == "" && n == 0:
		errs = append(errs, errors.New("a delivery that is not ignored must carry observations or added items"))
	case r.Ignored != "" && n > 0:
		errs = append(errs, fmt.Errorf("a delivery ignored (%q) must carry neither observations nor added items", r.Ignored))
	}
	for _, o := range r.Observations {
		errs = append(errs, CheckObservation(o))
	}
	for _, o := range r.Added {
		errs = append(errs, CheckAddedItem(o))
	}
	return errors.Join(errs...)
}

// checkItem lists what is wrong with the item fields of o.
func checkItem(o Observation) []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if o.ItemID == "" {
		add("item id is empty")
	}
	switch o.Kind {
	case KindMovie:
	case KindEpisode:
		if o.Season < 0 || o.Episode < 0 {
			add("episode numbers S%d E%d are negative", o.Season, o.Episode)
		}
	default:
		add("kind %q is neither %q nor %q", o.Kind, KindMovie, KindEpisode)
	}
	for _, g := range o.GUIDs {
		if err := CheckGUID(g); err != nil {
			errs = append(errs, err)
		}
	}
	for _, g := range o.ShowGUIDs {
		if err := CheckGUID(g); err != nil {
			errs = append(errs, fmt.Errorf("show %w", err))
		}
	}
	if o.Duration < 0 {
		add("duration %s is negative", o.Duration)
	}
	return errs
}
