// Package memback is an in-memory backend with every capability, generated
// from a few options. The plugins packages' tests serve it in process, over
// bufconn and as a real plugin subprocess; it is not shipped.
package memback
