// Package guids turns the external ids media servers send, in every spelling
// they use, into keepwatch's normalised GUIDs: "source:id" with a lower-case,
// canonical source name (imdb:tt0944947, tmdb:63056, tvdb:121361,
// plex:movie/5d776b85594b2b001e6dc641).
//
// It owns the table of sources keepwatch matches on and the shape of a valid
// id for each, the source aliases servers use (Plex legacy agents,
// Jellyfin/Emby ProviderIds keys, Tautulli template names), the Plex agent
// string grammar, and the "absent value" spellings of loosely typed sources.
// Backends use it to build Observation GUIDs; the engine uses it to check
// them at its edge. It imports nothing but the standard library, so plugin
// authors can use it too.
package guids
