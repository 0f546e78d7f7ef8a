// Package plugins is keepwatch's backend contract and the SDK that serves it
// from a plugin process.
//
// A backend (Plex, Jellyfin, a JSON file, ...) is plain Go: it implements
// Backend (Describe, Configure, CheckHealth, ListAccounts) and any of the
// optional capability interfaces WebhookParser, Importer, Exporter and
// Resolver. Every method takes a context first. The request and response
// types live here, not in keepwatch's core: the engine converts at its edge.
//
// A plugin's main is a few lines:
//
//	func main() { plugins.Serve(mybackend.New) }
//
// Serve speaks hashicorp/go-plugin over gRPC (backend.proto, package
// backendv1). The host side (package plugins/host) holds a Client, which has
// every capability method and answers ErrUnsupported for those the plugin
// lacks; Adapt gives an in-process Backend the same shape, so the engine uses
// both alike.
//
// This package is a leaf: it imports nothing from keepwatch outside plugins/.
// The gRPC glue and its converters live here rather than under internal/
// because Serve needs them and they need the contract types; putting them in a
// package of their own would make an import cycle.
package plugins
