package api

import (
	_ "example.com/kw/backends/plex" // violation: only cmd ties backends in
	_ "example.com/kw/config"
	_ "example.com/kw/plugins/host"
)
