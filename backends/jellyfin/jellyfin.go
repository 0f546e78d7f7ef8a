package jellyfin

import (
	"github.com/keepwatch/keepwatch/backends/internal/mediabrowser/client"
	"github.com/keepwatch/keepwatch/backends/internal/mediabrowser/mbbackend"
	"github.com/keepwatch/keepwatch/plugins"
)

// Type is the backend type of configurations (type: jellyfin).
const Type = "jellyfin"

// Version is this backend's version.
const Version = "1.0.0"

// Backend is the Jellyfin backend.
type Backend struct {
	*mbbackend.Backend
}

// ParseWebhook is all a server package adds to the shared backend.
var _ plugins.WebhookParser = (*Backend)(nil)

// New is the plugins.Factory of the Jellyfin backend.
func New(env plugins.Env) plugins.Backend {
	return &Backend{Backend: mbbackend.New(env, mbbackend.Dialect{
		Type: Type, Flavor: client.Jellyfin, Version: Version,
		DisplayName: "Jellyfin", Summary: "Jellyfin servers: Webhook plugin events, import, export and GUID resolution over the REST API.",
		Options: options, OptionNames: []string{"date_played_format"},
	})}
}

func options(opts map[string]string, co *client.Options) error {
	co.ISODatePlayed = true
	if v, ok := opts["date_played_format"]; ok {
		switch v {
		case "iso":
		case "compact":
			co.ISODatePlayed = false
		default:
			return plugins.InvalidConfig("options.date_played_format", v, "must be iso or compact")
		}
	}
	return nil
}
