package engine

import (
	_ "example.com/kw/plugins"
	_ "example.com/kw/plugins/host" // violation: engine must not reach the host
)
