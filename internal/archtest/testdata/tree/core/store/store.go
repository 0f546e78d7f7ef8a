package store

import (
	_ "fmt"

	_ "example.com/kw/core/model"
)
