package config

import _ "embed"

//go:embed starter.yaml
var starter []byte

// Starter returns the commented keepwatch.yaml that `keepwatch init` writes.
// It lists every option with its default value, keeps its example backends
// and users commented out, and loads to exactly Defaults().
func Starter() []byte {
	out := make([]byte, len(starter))
	copy(out, starter)
	return out
}
