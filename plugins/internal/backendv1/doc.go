// Package backendv1 is the generated gRPC code of backend.proto, protocol
// version 1 of the keepwatch plugin wire. Only the plugins packages use it;
// plugin authors program against the plain Go contract in package plugins.
//
// The generated files are committed: CI does not run protoc. After editing
// backend.proto, run `go generate ./plugins/...` (see generate.sh for the
// pinned tools) and commit the result.
package backendv1

//go:generate sh generate.sh
