package host

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/rs/zerolog"
)

// hclogBridge is the hclog.Logger go-plugin writes to. go-plugin parses
// each JSON line from the plugin's stderr and calls the method of the line's
// level; the bridge forwards it to zerolog at that level with the line's
// fields. Lines that are not JSON arrive at debug (or error for a panic), as
// go-plugin decides.
type hclogBridge struct {
	log     zerolog.Logger
	name    string
	implied []any
}

var _ hclog.Logger = (*hclogBridge)(nil)

func newHCLogBridge(l zerolog.Logger) *hclogBridge { return &hclogBridge{log: l} }

func toZerolog(l hclog.Level) zerolog.Level {
	switch l {
	case hclog.Trace:
		return zerolog.TraceLevel
	case hclog.Debug:
		return zerolog.DebugLevel
	case hclog.Info:
		return zerolog.InfoLevel
	case hclog.Warn:
		return zerolog.WarnLevel
	case hclog.Error:
		return zerolog.ErrorLevel
	case hclog.Off:
		return zerolog.Disabled
	}
	return zerolog.InfoLevel
}

func fromZerolog(l zerolog.Level) hclog.Level {
	switch l {
	case zerolog.TraceLevel:
		return hclog.Trace
	case zerolog.DebugLevel:
		return hclog.Debug
	case zerolog.InfoLevel:
		return hclog.Info
	case zerolog.WarnLevel:
		return hclog.Warn
	case zerolog.ErrorLevel, zerolog.FatalLevel, zerolog.PanicLevel:
		return hclog.Error
	case zerolog.Disabled:
		return hclog.Off
	}
	return hclog.Trace
}

func (b *hclogBridge) Log(level hclog.Level, msg string, args ...any) {
	ev := b.log.WithLevel(toZerolog(level))
	if ev == nil {
		return
	}
	if b.name != "" {
		ev = ev.Str("logger", b.name)
	}
	addFields(ev, b.implied)
	addFields(ev, args)
	ev.Msg(msg)
}

// reservedKeys are set by the host's logger; a plugin field of the same
// name is renamed rather than written twice into one JSON object.
var reservedKeys = map[string]bool{
	zerolog.LevelFieldName: true, zerolog.MessageFieldName: true, zerolog.TimestampFieldName: true,
	"backend": true, "backend_type": true, "logger": true,
}

// addFields adds hclog's alternating key/value arguments. go-plugin appends
// the plugin's own "timestamp"; zerolog stamps its own time, so it is dropped.
func addFields(ev *zerolog.Event, kv []any) {
	for i := 0; i < len(kv); i += 2 {
		key := fmt.Sprint(kv[i])
		if i+1 == len(kv) {
			ev.Interface("EXTRA_VALUE_AT_END", kv[i])
			return
		}
		if key == "timestamp" {
			continue
		}
		if reservedKeys[key] {
			key = "plugin_" + key
		}
		switch v := kv[i+1].(type) {
		case string:
			ev.Str(key, v)
		case error:
			ev.AnErr(key, v)
		case fmt.Stringer:
			ev.Stringer(key, v)
		default:
			ev.Interface(key, v)
		}
	}
}

func (b *hclogBridge) Trace(msg string, args ...any) { b.Log(hclog.Trace, msg, args...) }
func (b *hclogBridge) Debug(msg string, args ...any) { b.Log(hclog.Debug, msg, args...) }
func (b *hclogBridge) Info(msg string, args ...any)  { b.Log(hclog.Info, msg, args...) }
func (b *hclogBridge) Warn(msg string, args ...any)  { b.Log(hclog.Warn, msg, args...) }
func (b *hclogBridge) Error(msg string, args ...any) { b.Log(hclog.Error, msg, args...) }

func (b *hclogBridge) enabled(l zerolog.Level) bool {
	return b.log.GetLevel() <= l && zerolog.GlobalLevel() <= l
}

func (b *hclogBridge) IsTrace() bool { return b.enabled(zerolog.TraceLevel) }
func (b *hclogBridge) IsDebug() bool { return b.enabled(zerolog.DebugLevel) }
func (b *hclogBridge) IsInfo() bool  { return b.enabled(zerolog.InfoLevel) }
func (b *hclogBridge) IsWarn() bool  { return b.enabled(zerolog.WarnLevel) }
func (b *hclogBridge) IsError() bool { return b.enabled(zerolog.ErrorLevel) }

func (b *hclogBridge) ImpliedArgs() []any { return b.implied }

func (b *hclogBridge) With(args ...any) hclog.Logger {
	c := *b
	c.implied = append(append([]any(nil), b.implied...), args...)
	return &c
}

func (b *hclogBridge) Name() string { return b.name }

func (b *hclogBridge) Named(name string) hclog.Logger {
	c := *b
	if c.name == "" {
		c.name = name
	} else {
		c.name += "." + name
	}
	return &c
}

func (b *hclogBridge) ResetNamed(name string) hclog.Logger {
	c := *b
	c.name = name
	return &c
}

func (b *hclogBridge) SetLevel(level hclog.Level) { b.log = b.log.Level(toZerolog(level)) }

// GetLevel tells go-plugin which plugin lines it may skip before parsing.
func (b *hclogBridge) GetLevel() hclog.Level {
	l := b.log.GetLevel()
	if g := zerolog.GlobalLevel(); g > l {
		l = g
	}
	return fromZerolog(l)
}

func (b *hclogBridge) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(b.StandardWriter(opts), "", 0)
}

func (b *hclogBridge) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	level := hclog.Info
	if opts != nil && opts.ForceLevel != hclog.NoLevel {
		level = opts.ForceLevel
	}
	return newLineLogger(b.log, toZerolog(level), "")
}

// lineLogger logs each line written to it. It receives what a plugin writes
// to os.Stdout and os.Stderr after go-plugin took them over (stray fmt.Print
// calls, third-party libraries), which is not structured.
type lineLogger struct {
	mu      sync.Mutex
	log     zerolog.Logger
	level   zerolog.Level
	field   string
	partial []byte
}

func newLineLogger(l zerolog.Logger, level zerolog.Level, stream string) *lineLogger {
	return &lineLogger{log: l, level: level, field: stream}
}

func (w *lineLogger) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimRight(string(w.partial[:i]), "\r")
		w.partial = w.partial[i+1:]
		if line == "" {
			continue
		}
		ev := w.log.WithLevel(w.level)
		if w.field != "" {
			ev = ev.Str("stream", w.field)
		}
		ev.Msg(line)
	}
	return len(p), nil
}
