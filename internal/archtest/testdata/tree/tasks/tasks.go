package tasks

import (
	_ "example.com/kw/api" // violation
	_ "example.com/kw/core/engine"
)
