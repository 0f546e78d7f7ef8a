// Package fakeservertest holds the test helpers the Jellyfin and Emby fakes'
// tests share: an HTTP call helper, the list envelope, a webhook sink on
// loopback and a settable clock. It is imported by tests only.
package fakeservertest
