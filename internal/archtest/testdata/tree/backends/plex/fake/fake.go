package fake

import _ "example.com/kw/plugins/plugintest" // violation: only tests may use the harness
