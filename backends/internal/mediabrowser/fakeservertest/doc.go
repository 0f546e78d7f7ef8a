// Package fakeservertest holds the test helpers the Jellyfin and Emby fakes'
// tests share: an HTTP call helper, the list envelope, a webhook sink on
// loopback, a settable clock, and the scenarios both backends must pass:
// CheckAdditions (library additions through the webhook parsers),
// CheckLibraryFilter (import's library include/exclude), CheckRetried (429 and
// 503 retried) and CheckBadToken (a clear authentication error). It is
// imported by tests only.
package fakeservertest
