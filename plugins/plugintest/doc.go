// Package plugintest is the test kit for keepwatch backends.
//
// Connect serves a backend in process over real gRPC on an in-memory
// connection (grpc's bufconn): no subprocess, but the same converters, error
// mapping, page splitting and context propagation as a plugin process, so a
// field the wire would drop shows up in the backend's own tests.
//
// Run is the conformance suite every backend's tests call with its factory
// and a fake server: a stable Describe, bad configurations refused with a
// *plugins.ConfigError, imports that stream pages and stop on cancel,
// idempotent writes with per-item outcomes, webhooks that reject garbage
// with a reason and never panic, and ErrUnsupported for the capabilities the
// backend lacks.
package plugintest
