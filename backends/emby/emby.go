package emby

import (
	"strings"

	"github.com/keepwatch/keepwatch/backends/internal/mediabrowser/client"
	"github.com/keepwatch/keepwatch/backends/internal/mediabrowser/mbbackend"
	"github.com/keepwatch/keepwatch/plugins"
)

// Type is the backend type of configurations (type: emby).
const Type = "emby"

// Version is this backend's version.
const Version = "1.0.0"

// Backend is the Emby backend.
type Backend struct {
	*mbbackend.Backend
}

// ParseWebhook is all a server package adds to the shared backend.
var _ plugins.WebhookParser = (*Backend)(nil)

// New is the plugins.Factory of the Emby backend.
func New(env plugins.Env) plugins.Backend {
	return &Backend{Backend: mbbackend.New(env, mbbackend.Dialect{
		Type: Type, Flavor: client.Emby, Version: Version,
		DisplayName: "Emby", Summary: "Emby servers: native webhooks, import, export and GUID resolution over the REST API.",
		Options: options, OptionNames: []string{"path_prefix"},
	})}
}

func options(opts map[string]string, co *client.Options) error {
	co.PathPrefix = "/emby"
	if v, ok := opts["path_prefix"]; ok {
		if !strings.HasPrefix(v, "/") || strings.ContainsAny(v, "?# ") {
			return plugins.InvalidConfig("options.path_prefix", v, `must be a path starting with "/" ("/emby", or "/" for none)`)
		}
		co.PathPrefix = v
	}
	return nil
}
