package ignored

import _ "example.com/kw/api" // not checked: testdata
