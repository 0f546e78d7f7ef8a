package fakeserver

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// jw writes JSON by appending to a byte slice, keys in the order the servers emit them.
// Reflection-based encoding of 1000-item pages would dominate the benchmarks this fake
// serves, and Go maps would lose the key order real payloads have.
type jw struct {
	b     []byte
	comma []bool // per open container: an element was written
	// pendingKey: a key was written, its value must not get a comma.
	pendingKey bool
	// jellyfin selects System.Text.Json's default escaping (non-ASCII and <>&'+` as \uXXXX,
	// seen as "\u002B" in real output); Emby writes UTF-8 as is.
	jellyfin bool
}

// val prepares for the next value: a comma unless it is the first in its container or the
// value of a key just written.
func (w *jw) val() {
	if w.pendingKey {
		w.pendingKey = false
		return
	}
	if n := len(w.comma); n > 0 {
		if w.comma[n-1] {
			w.b = append(w.b, ',')
		}
		w.comma[n-1] = true
	}
}

func (w *jw) key(k string) {
	w.val()
	w.quote(k)
	w.b = append(w.b, ':')
	w.pendingKey = true
}

func (w *jw) obj()    { w.val(); w.b = append(w.b, '{'); w.comma = append(w.comma, false) }
func (w *jw) arr()    { w.val(); w.b = append(w.b, '['); w.comma = append(w.comma, false) }
func (w *jw) endObj() { w.comma = w.comma[:len(w.comma)-1]; w.b = append(w.b, '}') }
func (w *jw) endArr() { w.comma = w.comma[:len(w.comma)-1]; w.b = append(w.b, ']') }

func (w *jw) str(s string) { w.val(); w.quote(s) }
func (w *jw) num(n int64)  { w.val(); w.b = strconv.AppendInt(w.b, n, 10) }
func (w *jw) float(f float64) {
	w.val()
	w.b = strconv.AppendFloat(w.b, f, 'g', -1, 64)
}
func (w *jw) boolean(v bool) { w.val(); w.b = strconv.AppendBool(w.b, v) }
func (w *jw) null()          { w.val(); w.b = append(w.b, "null"...) }

func (w *jw) kstr(k, v string)       { w.key(k); w.str(v) }
func (w *jw) knum(k string, n int64) { w.key(k); w.num(n) }
func (w *jw) kbool(k string, v bool) { w.key(k); w.boolean(v) }
func (w *jw) kobj(k string)          { w.key(k); w.obj() }
func (w *jw) karr(k string)          { w.key(k); w.arr() }

// Upper-case, as System.Text.Json writes them ("\u002B" [obs]).
const hexDigits = "0123456789ABCDEF"

// safeJellyfin / safeEmby mark the ASCII bytes each server writes unescaped.
var safeJellyfin, safeEmby = func() (j, e [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		e[c] = c != '"' && c != '\\'
		j[c] = e[c] && !strings.ContainsRune("<>&'+`", rune(c))
	}
	return j, e
}()

func (w *jw) quote(s string) {
	safe := &safeEmby
	if w.jellyfin {
		safe = &safeJellyfin
	}
	i := 0
	for i < len(s) && safe[s[i]] {
		i++
	}
	if i == len(s) { // the common case: nothing to escape
		w.b = append(w.b, '"')
		w.b = append(w.b, s...)
		w.b = append(w.b, '"')
		return
	}
	w.b = append(w.b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"':
				w.b = append(w.b, '\\', '"')
			case c == '\\':
				w.b = append(w.b, '\\', '\\')
			case c == '\n':
				w.b = append(w.b, '\\', 'n')
			case c == '\r':
				w.b = append(w.b, '\\', 'r')
			case c == '\t':
				w.b = append(w.b, '\\', 't')
			case c < 0x20 || (w.jellyfin && (c == '<' || c == '>' || c == '&' || c == '\'' || c == '+' || c == '`')):
				w.b = append(w.b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				w.b = append(w.b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !w.jellyfin && r != utf8.RuneError {
			w.b = append(w.b, s[i:i+size]...)
			i += size
			continue
		}
		if r == utf8.RuneError {
			r = 0xfffd
		}
		if r >= 0x10000 {
			r -= 0x10000
			w.u16(0xd800 + uint16(r>>10))
			w.u16(0xdc00 + uint16(r&0x3ff))
		} else {
			w.u16(uint16(r))
		}
		i += size
	}
	w.b = append(w.b, '"')
}

func (w *jw) u16(v uint16) {
	w.b = append(w.b, '\\', 'u', hexDigits[v>>12&0xf], hexDigits[v>>8&0xf], hexDigits[v>>4&0xf], hexDigits[v&0xf])
}

// Dates.

// jellyfinDate is Jellyfin's JsonDateTimeConverter [src]: a value whose millisecond part is
// 0 is written with the literal format yyyy-MM-ddTHH:mm:ss.fffffffZ (always a "Z", even for
// local times); anything else goes through System.Text.Json's writer, which trims trailing
// zeros of the 7-digit fraction and writes Z for UTC or the offset for local times.
func jellyfinDate(t time.Time) string {
	t = t.Truncate(100 * time.Nanosecond)
	ticks := t.Nanosecond() / 100
	if t.Nanosecond()/1_000_000 == 0 {
		return t.Format("2006-01-02T15:04:05") + "." + pad(ticks, 7) + "Z"
	}
	frac := pad(ticks, 7)
	for len(frac) > 0 && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	zone := "Z"
	if _, off := t.Zone(); off != 0 || t.Location() != time.UTC {
		zone = t.Format("-07:00")
	}
	return t.Format("2006-01-02T15:04:05") + "." + frac + zone
}

// embyDate: Emby writes UTC with all seven fractional digits ("2023-08-19T00:49:07.8523469Z",
// "2023-06-21T10:51:06.0000000Z" [obs]).
func embyDate(t time.Time) string {
	t = t.UTC().Truncate(100 * time.Nanosecond)
	return t.Format("2006-01-02T15:04:05") + "." + pad(t.Nanosecond()/100, 7) + "Z"
}

func (s *Server) date(t time.Time) string {
	if s.cfg.Flavor == Emby {
		return embyDate(t)
	}
	return jellyfinDate(t.UTC())
}

// hhmmss is .NET's TimeSpan.ToString(@"hh\:mm\:ss"): the hours wrap at a day.
func hhmmss(ticks int64) string {
	secs := ticks / ticksPerSecond
	return pad(int(secs/3600%24), 2) + ":" + pad(int(secs/60%60), 2) + ":" + pad(int(secs%60), 2)
}
