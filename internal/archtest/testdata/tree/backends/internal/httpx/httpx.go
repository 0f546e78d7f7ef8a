package httpx

import _ "example.com/kw/config" // violation
