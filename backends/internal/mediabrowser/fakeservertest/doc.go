// Package fakeservertest holds the test helpers the Jellyfin and Emby fakes'
// tests share: an HTTP call helper, the list envelope, a webhook sink on
// loopback, a settable clock, and CheckAdditions, the library-addition
// scenario both backends' webhook parsers must pass. It is imported by tests
// only.
package fakeservertest
