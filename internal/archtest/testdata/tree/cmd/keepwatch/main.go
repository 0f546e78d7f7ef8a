package main

import (
	_ "example.com/kw/api"
	_ "example.com/kw/backends/plex"
)
