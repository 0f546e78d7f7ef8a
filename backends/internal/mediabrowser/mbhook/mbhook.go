package mbhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keepwatch/keepwatch/backends/internal/mediabrowser/client"
	"github.com/keepwatch/keepwatch/plugins"
)

// MaxBody bounds the bodies parsed (a webhook is a few kilobytes).
const MaxBody = 4 << 20

// MediaType is the delivery's Content-Type without parameters, lower-cased ("" when absent
// or unparsable).
func MediaType(h http.Header) string {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return strings.ToLower(mt)
}

// JSONObject decodes a body that must be one JSON object. Numbers stay json.Number.
func JSONObject(body []byte) (map[string]any, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, plugins.Reject("the body is empty")
	}
	if len(body) > MaxBody {
		return nil, plugins.Reject("the body is %d bytes, more than %d", len(body), MaxBody)
	}
	if !utf8.Valid(body) {
		return nil, plugins.Reject("the body is not UTF-8 text")
	}
	if body[0] != '{' {
		return nil, plugins.Reject("the body is not a JSON object (starts with %q)", truncate(string(body), 20))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, plugins.Reject("the body is not valid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, plugins.Reject("the body has data after its JSON object")
	}
	return obj, nil
}

// Form parses an application/x-www-form-urlencoded body strictly: a malformed escape is
// garbage, not a value.
func Form(body []byte) (url.Values, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, plugins.Reject("the form body is empty")
	}
	if len(body) > MaxBody {
		return nil, plugins.Reject("the body is %d bytes, more than %d", len(body), MaxBody)
	}
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, plugins.Reject("the body is not a valid form: %v", err)
	}
	return v, nil
}

// MultipartField reads one field of a multipart/form-data body.
func MultipartField(h http.Header, body []byte, name string) ([]byte, error) {
	_, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		return nil, plugins.Reject("multipart body without a boundary in its Content-Type")
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, plugins.Reject("multipart body has no %q field", name)
		}
		if err != nil {
			return nil, plugins.Reject("multipart body is malformed: %v", err)
		}
		if p.FormName() != name {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(p, MaxBody+1))
		if err != nil {
			return nil, plugins.Reject("multipart field %q cannot be read: %v", name, err)
		}
		return b, nil
	}
}

// Fields is a flat object with case-insensitive keys whose values are JSON values (string,
// json.Number, bool, nil, nested) or, from a form, strings.
type Fields map[string]any

// FromJSON lower-cases the keys of a decoded object.
func FromJSON(obj map[string]any) Fields {
	f := make(Fields, len(obj))
	for k, v := range obj {
		f[strings.ToLower(k)] = v
	}
	return f
}

// FromForm takes the first value of every form field.
func FromForm(v url.Values) Fields {
	f := make(Fields, len(v))
	for k, vs := range v {
		if len(vs) > 0 {
			f[strings.ToLower(k)] = vs[0]
		}
	}
	return f
}

// Has reports whether key is present with a non-null, non-empty value.
func (f Fields) Has(key string) bool {
	s, ok := f.Str(key)
	return ok && s != ""
}

// Str is a string value; numbers and booleans are given as their text.
func (f Fields) Str(key string) (string, bool) {
	switch v := f[strings.ToLower(key)].(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

// Int is an integer value, from a JSON number or a numeric string.
func (f Fields) Int(key string) (int64, bool) {
	s, ok := f.Str(key)
	if !ok {
		return 0, false
	}
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	if x, err := strconv.ParseFloat(s, 64); err == nil && x >= -9.2e18 && x <= 9.2e18 {
		return int64(x), true
	}
	return 0, false
}

// Bool is a boolean value, from JSON or "true"/"false" text.
func (f Fields) Bool(key string) (bool, bool) {
	switch v := f[strings.ToLower(key)].(type) {
	case bool:
		return v, true
	case string:
		b, err := strconv.ParseBool(strings.ToLower(strings.TrimSpace(v)))
		return b, err == nil
	}
	return false, false
}

// Time is a date value (zero and false when absent, empty or not a date).
func (f Fields) Time(key string) (time.Time, bool) {
	s, ok := f.Str(key)
	if !ok || s == "" {
		return time.Time{}, false
	}
	t, err := client.ParseTime(s)
	if err != nil || t.IsZero() {
		return time.Time{}, false
	}
	return t, true
}

// Prefixed collects the string values whose key starts with prefix (lower case), keyed by
// the rest of the key: Jellyfin's Provider_imdb, Provider_tmdb, ...
func (f Fields) Prefixed(prefix string) map[string]string {
	out := map[string]string{}
	for k := range f {
		if rest, ok := strings.CutPrefix(k, prefix); ok && rest != "" {
			if s, ok := f.Str(k); ok && s != "" {
				out[rest] = s
			}
		}
	}
	return out
}

// NotVideo is why an event about an item of type itemType, which is neither a movie nor an
// episode, is ignored. For an addition of a series or a season it says that its episodes are
// announced one by one (both servers send an addition for every new item).
func NotVideo(event, itemType string, addition bool) string {
	reason := event + ": item type " + itemType + " is not a movie or an episode"
	if addition && (itemType == "Series" || itemType == "Season") {
		reason += "; each of its episodes gets its own " + event
	}
	return reason
}

// Completed records the server's verdict that an item was watched (DESIGN rule 6: Jellyfin's
// PlayedToCompletion, Emby's PlaybackInfo.PlayedToCompletion or item.markplayed): watched at
// the event's time, and at position 0, where the server resets a completed item.
func Completed(s *plugins.State) {
	s.WatchedKnown, s.Watched, s.PlayedAt = true, true, s.EventAt
	s.ProgressKnown, s.Progress = true, 0
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
