// Package pipeline runs keepwatch's long-lived flows (DESIGN.md "Flows") over
// the engine and the backends' plugins: the inbox processor that parses
// webhook deliveries through the backend's plugin, filters them (server,
// account, library) and merges them; one push worker per exporting backend
// that drains its outbox as soon as something is queued; import and export
// runs over every configured backend and account; and the account directory
// that maps household users to their accounts on each backend (explicit
// mappings, auto-mapping by name, unmapped accounts).
//
// It owns no storage of its own (the store does) and no HTTP (api does); it
// holds the runtime view of the configured backends: their plugin clients,
// policies, filters and the server ids they reported.
package pipeline
