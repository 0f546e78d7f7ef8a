// Package emby is the Emby backend: Emby's native webhooks, import, export and GUID
// resolution over the REST API. What Emby shares with Jellyfin (client, import, export,
// resolve) lives in backends/internal/mediabrowser; this package holds Emby's differences.
//
// Webhooks (Emby Premiere): a JSON body (application/json, 4.8.11+ and 4.9's setting) or a
// multipart/form-data body with the JSON in a field named "data" (older servers; a form
// body with data= and a JSON object wrapped as {"data": ...} are read too). Events:
//
//   - playback.start, playback.pause, playback.unpause: progress
//     (PlaybackInfo.PositionTicks), item playing;
//   - playback.stop: PlaybackInfo.PlayedToCompletion true is a completion (watched, played
//     at Date, position 0); otherwise progress;
//   - item.markplayed: watched, played at Item.UserData.LastPlayedDate when the body has it,
//     else at Date; item.markunplayed: unwatched, position 0. Our own writes come back as
//     these events; the engine's base drops the echoes;
//   - library.new (no User): a Movie or an Episode becomes one WebhookResult.Added entry,
//     the item alone, read from Item as the playback events read it (id, name, GUIDs, year of
//     a movie, series id and name, numbers, runtime; no account, no state), from which the
//     engine writes every household member's state to the new copy. A Series or a Season is
//     ignored with a reason (each of its episodes gets its own library.new), as are other
//     types. A repeated library.new is harmless: the engine's linking is idempotent. 4.7
//     servers may send it before the item's metadata is read (no ProviderIds, no numbers
//     [3p watchstate#266]); the entry then carries what there is;
//   - system.notificationtest and every other event: accepted, ignored with a reason.
//
// Emby sends a User only for users listed in the destination's "Limit user events to";
// an item event without one is ignored with a reason saying so. Item ids are numeric
// strings; GUIDs come from Item.ProviderIds (keys that are not ids, like "Official
// Website", are skipped).
//
// REST: the /Users/{UserId}/... routes (Emby has none of Jellyfin 10.9's new routes) under
// the /emby prefix; Authorization: MediaBrowser Token="..." plus X-Emby-Token; DatePlayed as
// yyyyMMddHHmmss, the only format Emby parses; list queries ask for UserDataLastPlayedDate
// and UserDataPlayCount, which 4.8+ leaves out of lists otherwise.
//
// Options (plugins.Config.Options; besides those of backends/internal/mediabrowser/mbbackend:
// page_size [1000], concurrency [4], retries [4], timeout [30s]):
//
//	path_prefix  put before every API path; "/" for none (a reverse proxy that already
//	             maps to /emby)                                            [/emby]
package emby
