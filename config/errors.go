package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrNotFound is wrapped by Load's error when the config file does not exist;
// `keepwatch serve` then starts on Defaults.
var ErrNotFound = errors.New("config file not found")

// Error is one problem in a configuration file.
type Error struct {
	File string // the file as given to Load; "" when validating a Config built in code
	Line int    // 1-based; 0 when the problem has no line (a default value)
	Path string // field path, like backends[1].type; "" for the whole file
	Msg  string // what is wrong and how to fix it; never contains a secret
}

// Error formats as "file:line: path: message", leaving out the parts unknown.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one configuration, in file order. Load
// returns it (as error) for an invalid file; errors.As recovers it.
type Errors []*Error

// Error prints one problem per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.Is and errors.As look at each problem.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// sorted orders problems by line, keeping discovery order within a line, so
// decoding and validation problems read top to bottom.
func (es Errors) sorted() Errors {
	sort.SliceStable(es, func(i, j int) bool { return es[i].Line < es[j].Line })
	return es
}
