package main

import (
	stdlog "log"
	"strings"

	"github.com/rs/zerolog"
)

// newStdLogger adapts a zerolog logger for APIs that take a *log.Logger
// (http.Server.ErrorLog); their lines are logged as warnings.
func newStdLogger(l zerolog.Logger) *stdlog.Logger {
	return stdlog.New(stdWriter{l}, "", 0)
}

type stdWriter struct{ log zerolog.Logger }

func (w stdWriter) Write(p []byte) (int, error) {
	w.log.Warn().Msg(strings.TrimSpace(string(p)))
	return len(p), nil
}
