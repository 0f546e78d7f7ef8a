// Package model holds keepwatch's domain types and nothing else: items and their
// GUIDs, records (the household's truth per user and item), per-backend bases,
// observations (what one backend said at one moment) and journal events.
//
// It is a leaf package: it imports nothing from keepwatch, performs no I/O and
// knows no server's wire format beyond the GUID spellings every server uses,
// which it normalises to one form, "source:id" with a lower-case source
// (imdb:tt0944947, tmdb:63056, tvdb:121361), so GUIDs from Plex, Jellyfin, Emby
// and Tautulli compare equal.
package model
