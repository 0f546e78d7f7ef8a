package jellyfin

import (
	"errors"

	"github.com/keepwatch/keepwatch/plugins"
)

func errorsIsRejected(err error) bool { return errors.Is(err, plugins.ErrRejected) }
