package plugins

import (
	"bytes"
	"encoding/json"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// hclogTimeFormat is the only @timestamp layout go-plugin's host accepts; a
// line with any other layout is demoted to a debug line of raw text.
const hclogTimeFormat = "2006-01-02T15:04:05.000000Z07:00"

// NewPluginLogger makes the logger Serve hands a backend: zerolog events
// re-encoded as the hclog JSON lines go-plugin's host parses, so each line
// keeps its level and fields on the host side.
func NewPluginLogger(w io.Writer, level zerolog.Level) zerolog.Logger {
	return zerolog.New(&hclogLineWriter{w: w}).Level(level)
}

// hclogLineWriter turns one zerolog JSON event into one hclog JSON line:
// level → @level, message → @message, plus @timestamp; other fields stay
// as they are. zerolog writes each event with one Write call.
// zerolog does not serialise writes from concurrent goroutines; mu does.
type hclogLineWriter struct {
	mu  sync.Mutex
	w   io.Writer
	buf bytes.Buffer
}

func (h *hclogLineWriter) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(p, &fields); err != nil {
		// Not an event (should not happen): pass it through; the host logs
		// it as text.
		return h.w.Write(p)
	}
	level := "info"
	if raw, ok := fields[zerolog.LevelFieldName]; ok {
		var s string
		_ = json.Unmarshal(raw, &s)
		level = hclogLevel(s)
		delete(fields, zerolog.LevelFieldName)
	}
	var msg string
	if raw, ok := fields[zerolog.MessageFieldName]; ok {
		_ = json.Unmarshal(raw, &msg)
		delete(fields, zerolog.MessageFieldName)
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	b := &h.buf
	b.Reset()
	b.WriteString(`{"@level":`)
	writeJSONString(b, level)
	b.WriteString(`,"@message":`)
	writeJSONString(b, msg)
	b.WriteString(`,"@timestamp":`)
	writeJSONString(b, time.Now().Format(hclogTimeFormat))
	for _, k := range keys {
		b.WriteByte(',')
		writeJSONString(b, k)
		b.WriteByte(':')
		b.Write(fields[k])
	}
	b.WriteString("}\n")
	if _, err := h.w.Write(b.Bytes()); err != nil {
		return 0, err
	}
	return len(p), nil
}

// hclogLevel maps zerolog level names to the ones hclog knows; fatal and
// panic have no hclog twin and become error.
func hclogLevel(s string) string {
	switch s {
	case "trace", "debug", "info", "warn", "error":
		return s
	case "fatal", "panic":
		return "error"
	}
	return "info"
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s)
	b.Write(enc)
}
