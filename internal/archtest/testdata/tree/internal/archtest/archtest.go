package archtest

import _ "example.com/kw/config" // violation: archtest imports nothing
