package model

import _ "example.com/kw/config" // violation: model is a leaf
