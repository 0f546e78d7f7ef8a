package tautulli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/keepwatch/keepwatch/plugins/guids"
)

// Tautulli's JSON is loosely typed: API rows hold integers, or "" where a
// column is empty (a movie's parent_rating_key, an episode's year), and
// webhook bodies hold every value as a string after template substitution.
// These types decode either form.

// flexInt decodes a JSON number, a numeric string, "" or null. Valid is
// false for the empty forms.
type flexInt struct {
	V     int64
	Valid bool
}

func (f *flexInt) UnmarshalJSON(b []byte) error {
	*f = flexInt{}
	var fl flexFloat
	if err := fl.UnmarshalJSON(b); err != nil || !fl.Valid {
		return err
	}
	// 12.0 is an integer too; beyond 2^53 a float64 is not exact.
	if fl.V != math.Trunc(fl.V) || math.Abs(fl.V) > 1<<53 {
		return fmt.Errorf("%v is not an integer", fl.V)
	}
	*f = flexInt{V: int64(fl.V), Valid: true}
	return nil
}

// String is the integer in decimal, or "" when absent.
func (f flexInt) String() string {
	if !f.Valid {
		return ""
	}
	return strconv.FormatInt(f.V, 10)
}

// flexFloat decodes like flexInt but keeps fractions (watched_status 0.5).
type flexFloat struct {
	V     float64
	Valid bool
}

func (f *flexFloat) UnmarshalJSON(b []byte) error {
	*f = flexFloat{}
	s, err := scalar(b)
	if err != nil || s == "" {
		return err
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("%q is not a number", s)
	}
	*f = flexFloat{V: v, Valid: true}
	return nil
}

// flexString decodes a JSON string, number or boolean as text and null as
// "". Objects and arrays are errors: a template whose field holds one is
// not the template keepwatch documents.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	s, err := scalar(b)
	*f = flexString(s)
	return err
}

// scalar gives the text of a JSON scalar: a string's content, a number's or
// boolean's literal, "" for null.
func scalar(b []byte) (string, error) {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		return "", nil
	case b[0] == '"':
		var s string
		err := json.Unmarshal(b, &s)
		return strings.TrimSpace(s), err
	case b[0] == '{' || b[0] == '[':
		return "", fmt.Errorf("want a string or number, got %s", kindOf(b[0]))
	}
	return string(b), nil
}

func kindOf(c byte) string {
	if c == '{' {
		return "an object"
	}
	return "an array"
}

// text is a template value as text, or "" when it means "no value": empty,
// "None", "null" or an unsubstituted {placeholder}. Unlike guids.IsAbsent,
// "0" is a value here (a title, a season number).
func text(s flexString) string {
	v := strings.TrimSpace(string(s))
	if v == "0" {
		return v
	}
	if guids.IsAbsent(v) {
		return ""
	}
	return v
}

// number parses a template value as a non-negative integer; ok is false
// when it is absent or not such a number.
func number(s flexString) (n int64, ok bool) {
	v := text(s)
	if v == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(v, 64)
		if ferr != nil || f < 0 || f > 1e15 {
			return 0, false
		}
		n = int64(f)
	}
	if n < 0 {
		return 0, false
	}
	return n, true
}
