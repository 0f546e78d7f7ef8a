package jellyfin

import _ "example.com/kw/plugins"
