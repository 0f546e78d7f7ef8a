package engine

import _ "example.com/kw/plugins/plugintest"
