// Command keepwatch-backend-jsonfile is an example external keepwatch
// plugin: the jsonfile backend served over the plugin protocol. Build it
// into keepwatch's plugins directory and configure a backend with
// `type: jsonfile` and `url: file:///path/to/library.json`:
//
//	go build -o ./plugins/keepwatch-backend-jsonfile ./examples/keepwatch-backend-jsonfile
//
// Run by hand, it says it is a plugin and exits.
package main

import (
	"github.com/keepwatch/keepwatch/examples/keepwatch-backend-jsonfile/jsonfile"
	"github.com/keepwatch/keepwatch/plugins"
)

func main() {
	plugins.Serve(jsonfile.New)
}
