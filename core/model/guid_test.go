package model

import (
	"errors"
	"testing"
)

func TestRelativeGUIDRoundTrip(t *testing.T) {
	r := NewRelativeGUID("tvdb:121361", 1, 1)
	if r != "tvdb:121361/1/1" {
		t.Fatalf("NewRelativeGUID = %q", r)
	}
	show, s, e, err := ParseRelativeGUID(string(r))
	if err != nil || show != "tvdb:121361" || s != 1 || e != 1 {
		t.Fatalf("ParseRelativeGUID(%q) = %q %d %d %v", r, show, s, e, err)
	}
	if _, _, _, err := ParseRelativeGUID("tvdb:121361/1"); !errors.Is(err, ErrInvalidGUID) {
		t.Errorf("ParseRelativeGUID without episode: err = %v", err)
	}
}

func TestCheckGUID(t *testing.T) {
	for in, ok := range map[string]bool{
		"imdb:tt0944947": true, "plex:movie/5d776b85594b2b001e6dc641": true, "trakt:1": true,
		"tt0944947": false, ":1": false, "imdb:": false, "IMDB:tt1": false, "imdb: tt1": false,
	} {
		_, err := CheckGUID(in)
		if (err == nil) != ok {
			t.Errorf("CheckGUID(%q) error = %v, want ok=%v", in, err, ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidGUID) {
			t.Errorf("CheckGUID(%q) error %v does not wrap ErrInvalidGUID", in, err)
		}
	}
}
