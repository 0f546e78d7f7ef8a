package host

import _ "example.com/kw/plugins"
