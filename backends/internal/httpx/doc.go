// Package httpx is the HTTP client every built-in backend talks to its server
// through: a bounded number of requests in flight per server, retries with
// capped exponential back-off and jitter on 429, 5xx and transport errors
// (honouring Retry-After), authentication failures reported as *AuthError
// naming the backend, and URLs redacted of credentials before they reach an
// error or a log line.
//
// It knows nothing of any server's API: backends build requests, httpx
// sends them.
package httpx
