package mbhook

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/keepwatch/keepwatch/plugins"
)

func TestFieldsReadJSONAndFormAlike(t *testing.T) {
	obj, err := JSONObject([]byte(`{"PlaybackPositionTicks":56722609,"Played":true,"UtcTimestamp":"2025-08-15T21:19:42.3644778Z","Provider_Imdb":"tt1","Provider_tmdb":"2","Video_0_ColorTransfer":null}`))
	if err != nil {
		t.Fatal(err)
	}
	form, err := Form([]byte(url.Values{"PlaybackPositionTicks": {"56722609"}, "Played": {"True"}, "UtcTimestamp": {"2025-08-15T21:19:42.3644778Z"},
		"Provider_Imdb": {"tt1"}, "Provider_tmdb": {"2"}, "Video_0_ColorTransfer": {""}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]Fields{"json": FromJSON(obj), "form": FromForm(form)} {
		n, okN := f.Int("playbackpositionticks")
		b, okB := f.Bool("PLAYED")
		at, okT := f.Time("UtcTimestamp")
		p := f.Prefixed("provider_")
		if n != 56722609 || !okN || !b || !okB || !okT || !at.Equal(time.Date(2025, 8, 15, 21, 19, 42, 364477800, time.UTC)) || p["imdb"] != "tt1" || p["tmdb"] != "2" || f.Has("Video_0_ColorTransfer") {
			t.Errorf("%s: %d %v %v %v %v %v %v", name, n, okN, b, okB, at, okT, p)
		}
		if _, ok := f.Int("Missing"); ok {
			t.Errorf("%s: a missing key reads as present", name)
		}
	}
}

func TestGarbageIsRejected(t *testing.T) {
	for name, fn := range map[string]func() error{
		"empty":     func() error { _, err := JSONObject(nil); return err },
		"array":     func() error { _, err := JSONObject([]byte(`[1]`)); return err },
		"not utf-8": func() error { _, err := JSONObject([]byte{'{', 0xff, '}'}); return err },
		"trailing":  func() error { _, err := JSONObject([]byte(`{} x`)); return err },
		"bad form":  func() error { _, err := Form([]byte("%zz=1")); return err },
		"no boundary": func() error {
			_, err := MultipartField(http.Header{"Content-Type": {"multipart/form-data"}}, []byte("x"), "data")
			return err
		},
		"missing field": func() error {
			_, err := MultipartField(http.Header{"Content-Type": {"multipart/form-data; boundary=b"}}, []byte("--b--\r\n"), "data")
			return err
		},
	} {
		if err := fn(); !errors.Is(err, plugins.ErrRejected) {
			t.Errorf("%s: %v, want a rejection", name, err)
		}
	}
}

func TestNotVideo(t *testing.T) {
	for _, tc := range []struct {
		event, typ string
		addition   bool
		want       string
	}{
		{"ItemAdded", "Season", true, "ItemAdded: item type Season is not a movie or an episode; each of its episodes gets its own ItemAdded"},
		{"library.new", "Series", true, "library.new: item type Series is not a movie or an episode; each of its episodes gets its own library.new"},
		{"library.new", "Audio", true, "library.new: item type Audio is not a movie or an episode"},
		{"PlaybackStart", "Season", false, "PlaybackStart: item type Season is not a movie or an episode"},
	} {
		if got := NotVideo(tc.event, tc.typ, tc.addition); got != tc.want {
			t.Errorf("NotVideo(%q, %q, %v) = %q, want %q", tc.event, tc.typ, tc.addition, got, tc.want)
		}
	}
}

// TestCompleted: a completion is watched at the event's time, at position 0, and leaves
// what it does not decide (play count, playing) alone.
func TestCompleted(t *testing.T) {
	at := time.Date(2024, 5, 1, 20, 0, 0, 0, time.UTC)
	s := plugins.State{EventAt: at, ProgressKnown: true, Progress: 71 * time.Minute, PlayCount: 3}
	Completed(&s)
	want := plugins.State{WatchedKnown: true, Watched: true, PlayedAt: at, ProgressKnown: true, PlayCount: 3, EventAt: at}
	if s != want {
		t.Errorf("state %+v, want %+v", s, want)
	}
}
