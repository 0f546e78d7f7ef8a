package fake

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// format is the wire format a response is written in. PMS answers XML unless the
// request's Accept header asks for JSON.
type format uint8

const (
	formatXML format = iota
	formatJSON
)

// negotiate picks the response format the way PMS does: JSON only when the client
// says it accepts application/json, XML otherwise (also for "*/*" or no header).
func negotiate(r *http.Request) format {
	for _, v := range r.Header.Values("Accept") {
		if strings.Contains(v, "application/json") {
			return formatJSON
		}
	}
	return formatXML
}

func (f format) contentType() string {
	if f == formatJSON {
		return "application/json"
	}
	return "text/xml;charset=utf-8"
}

// enc writes one MediaContainer-style document in either format without reflection,
// so the key order is fixed, keys can be left out (the "absent when zero" quirk), and
// serving 100k items stays cheap.
//
// The model is XML's: an element has attributes and then child elements. In JSON an
// element is an object, its attributes are members, and children of one kind are
// grouped into an array member named by group (e.g. XML <Video>…</Video><Video>…
// becomes "Metadata":[{…},{…}]). XML writes every attribute as a string, booleans
// as "1"/"0", as PMS does.
type enc struct {
	f   format
	buf []byte
	// stack of open elements: XML tag, and whether the start tag is still open
	// (attributes may follow) or a member was written (JSON needs a comma).
	stack []frame
	plain bool // document is a bare JSON object, not {"MediaContainer":{…}}
}

type frame struct {
	tag       string
	startOpen bool // XML: "<Tag attr…" written, ">" not yet
	hasChild  bool // XML: a child element was written
	members   int  // JSON: members written in this object/array
	isArray   bool // JSON: this frame is a group array
}

func newEnc(f format, buf []byte) *enc {
	e := &enc{f: f, buf: buf[:0]}
	if f == formatXML {
		e.buf = append(e.buf, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"...)
	}
	return e
}

// root opens the document's root element (MediaContainer).
func (e *enc) root(tag string) {
	if e.f == formatJSON {
		e.buf = append(e.buf, '{')
		e.buf = appendJSONString(e.buf, tag)
		e.buf = append(e.buf, ':', '{')
		e.stack = append(e.stack, frame{tag: tag})
		return
	}
	e.buf = append(e.buf, '<')
	e.buf = append(e.buf, tag...)
	e.stack = append(e.stack, frame{tag: tag, startOpen: true})
}

// rootPlain opens a bare JSON object as the document (webhook payloads).
func (e *enc) rootPlain() {
	e.plain = true
	e.buf = append(e.buf[:0], '{')
	e.stack = append(e.stack, frame{})
}

// finish closes every open element, ending the document.
func (e *enc) finish() []byte {
	for len(e.stack) > 0 {
		top := e.stack[len(e.stack)-1]
		if top.isArray {
			e.endGroup()
		} else {
			e.close()
		}
	}
	if e.plain {
		return e.buf
	}
	if e.f == formatJSON {
		e.buf = append(e.buf, '}')
	} else {
		e.buf = append(e.buf, '\n')
	}
	return e.buf
}

// group starts a JSON array member holding children of one kind; XML has no
// wrapper, so it is a no-op there.
func (e *enc) group(name string) {
	if e.f != formatJSON {
		return
	}
	e.jsonKey(name)
	e.buf = append(e.buf, '[')
	e.stack = append(e.stack, frame{tag: name, isArray: true})
}

func (e *enc) endGroup() {
	if e.f != formatJSON {
		return
	}
	e.buf = append(e.buf, ']')
	e.stack = e.stack[:len(e.stack)-1]
}

// open starts a child element (XML tag) / an object in the current JSON group.
func (e *enc) open(tag string) {
	if e.f == formatJSON {
		top := &e.stack[len(e.stack)-1]
		if top.members > 0 {
			e.buf = append(e.buf, ',')
		}
		top.members++
		e.buf = append(e.buf, '{')
		e.stack = append(e.stack, frame{tag: tag})
		return
	}
	top := &e.stack[len(e.stack)-1]
	if top.startOpen {
		e.buf = append(e.buf, '>')
		top.startOpen = false
	}
	top.hasChild = true
	e.buf = append(e.buf, '\n', '<')
	e.buf = append(e.buf, tag...)
	e.stack = append(e.stack, frame{tag: tag, startOpen: true})
}

// object starts a single child element that PMS's JSON renders as an object member
// rather than an array ("User":{…} in a session); close it with close.
func (e *enc) object(tag string) {
	if e.f == formatJSON {
		e.jsonKey(tag)
		e.buf = append(e.buf, '{')
		e.stack = append(e.stack, frame{tag: tag})
		return
	}
	e.open(tag)
}

func (e *enc) close() {
	top := e.stack[len(e.stack)-1]
	e.stack = e.stack[:len(e.stack)-1]
	if e.f == formatJSON {
		e.buf = append(e.buf, '}')
		return
	}
	if top.startOpen {
		e.buf = append(e.buf, ' ', '/', '>')
		return
	}
	if top.hasChild {
		e.buf = append(e.buf, '\n')
	}
	e.buf = append(e.buf, '<', '/')
	e.buf = append(e.buf, top.tag...)
	e.buf = append(e.buf, '>')
}

func (e *enc) jsonKey(k string) {
	top := &e.stack[len(e.stack)-1]
	if top.members > 0 {
		e.buf = append(e.buf, ',')
	}
	top.members++
	// Keys are the fake's own ASCII identifiers: no escaping needed.
	e.buf = append(e.buf, '"')
	e.buf = append(e.buf, k...)
	e.buf = append(e.buf, '"', ':')
}

func (e *enc) xmlAttrStart(k string) {
	e.buf = append(e.buf, ' ')
	e.buf = append(e.buf, k...)
	e.buf = append(e.buf, '=', '"')
}

// str writes a string attribute.
func (e *enc) str(k, v string) {
	if e.f == formatJSON {
		e.jsonKey(k)
		e.buf = appendJSONString(e.buf, v)
		return
	}
	e.xmlAttrStart(k)
	e.buf = appendXMLEscaped(e.buf, v)
	e.buf = append(e.buf, '"')
}

// strIf writes a string attribute only when it is not empty.
func (e *enc) strIf(k, v string) {
	if v != "" {
		e.str(k, v)
	}
}

// num writes an integer attribute (a JSON number).
func (e *enc) num(k string, v int64) {
	if e.f == formatJSON {
		e.jsonKey(k)
		e.buf = strconv.AppendInt(e.buf, v, 10)
		return
	}
	e.xmlAttrStart(k)
	e.buf = strconv.AppendInt(e.buf, v, 10)
	e.buf = append(e.buf, '"')
}

// numIf writes an integer attribute only when it is not zero: PMS leaves
// viewCount, viewOffset and lastViewedAt out entirely when they are unset.
func (e *enc) numIf(k string, v int64) {
	if v != 0 {
		e.num(k, v)
	}
}

// numStr writes an integer that PMS sends as a JSON string (ratingKey and friends).
func (e *enc) numStr(k string, v int64) {
	if e.f == formatJSON {
		e.jsonKey(k)
		e.buf = append(e.buf, '"')
		e.buf = strconv.AppendInt(e.buf, v, 10)
		e.buf = append(e.buf, '"')
		return
	}
	e.num(k, v)
}

// prefixedNum writes prefix+v as a string attribute ("/library/metadata/12").
func (e *enc) prefixedNum(k, prefix string, v int64, suffix string) {
	if e.f == formatJSON {
		e.jsonKey(k)
		e.buf = append(e.buf, '"')
		e.buf = appendJSONRaw(e.buf, prefix)
		e.buf = strconv.AppendInt(e.buf, v, 10)
		e.buf = appendJSONRaw(e.buf, suffix)
		e.buf = append(e.buf, '"')
		return
	}
	e.xmlAttrStart(k)
	e.buf = appendXMLEscaped(e.buf, prefix)
	e.buf = strconv.AppendInt(e.buf, v, 10)
	e.buf = appendXMLEscaped(e.buf, suffix)
	e.buf = append(e.buf, '"')
}

// flt writes a float attribute with one decimal, as PMS does for ratings.
func (e *enc) flt(k string, v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	if e.f == formatJSON {
		e.jsonKey(k)
		e.buf = strconv.AppendFloat(e.buf, v, 'f', -1, 64)
		return
	}
	e.xmlAttrStart(k)
	e.buf = strconv.AppendFloat(e.buf, v, 'f', -1, 64)
	e.buf = append(e.buf, '"')
}

// boolean writes true/false in JSON and "1"/"0" in XML.
func (e *enc) boolean(k string, v bool) {
	if e.f == formatJSON {
		e.jsonKey(k)
		if v {
			e.buf = append(e.buf, "true"...)
		} else {
			e.buf = append(e.buf, "false"...)
		}
		return
	}
	e.xmlAttrStart(k)
	if v {
		e.buf = append(e.buf, '1')
	} else {
		e.buf = append(e.buf, '0')
	}
	e.buf = append(e.buf, '"')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string literal. Unlike encoding/json it does
// not escape <, > and & (PMS does not either).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendJSONRaw(b, s)
	return append(b, '"')
}

// jsonSafe marks the ASCII bytes that need no escaping in a JSON string.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendJSONRaw appends the escaped contents of a JSON string, without quotes.
func appendJSONRaw(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf && jsonSafe[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}

// appendXMLEscaped appends s escaped for use inside a double-quoted XML attribute.
func appendXMLEscaped(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '"':
			esc = "&quot;"
		case '\n':
			esc = "&#10;"
		case '\r':
			esc = "&#13;"
		case '\t':
			esc = "&#9;"
		default:
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, esc...)
		start = i + 1
	}
	return append(b, s[start:]...)
}
