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
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if o.AccountID == "" {
		add("account id is empty")
	}
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
	s := o.State
	if s.Watched && !s.WatchedKnown {
		add("state says watched but WatchedKnown is false")
	}
	if s.Progress != 0 && !s.ProgressKnown {
		add("state has progress %s but ProgressKnown is false", s.Progress)
	}
	if s.Progress < 0 {
		add("progress %s is negative", s.Progress)
	}
	if s.PlayCount < 0 {
		add("play count %d is negative", s.PlayCount)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("observation of item %q: %w", o.ItemID, errors.Join(errs...))
}
