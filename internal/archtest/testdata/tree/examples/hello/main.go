package main

import _ "example.com/kw/plugins"
