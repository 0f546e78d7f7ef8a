// Package jellyfin is the Jellyfin backend: webhooks from the Jellyfin Webhook plugin
// (jellyfin/jellyfin-plugin-webhook), import, export and GUID resolution over the REST API.
// What Jellyfin shares with Emby (client, import, export, resolve) lives in
// backends/internal/mediabrowser; this package holds Jellyfin's differences.
//
// Webhooks: the plugin's Generic destination with "Send All Properties" (a flat JSON object,
// sent as text/plain unless a Content-Type header is configured) or the Generic Form
// destination (the same keys form-encoded, every value as text). Events:
//
//   - PlaybackStart, PlaybackProgress: progress (PlaybackPositionTicks), item playing;
//   - PlaybackStop: PlayedToCompletion true is a completion (watched, played at
//     UtcTimestamp, position 0, as the server resets it); otherwise progress;
//   - UserDataSaved: the item's user data after the save (Played, PlayCount,
//     PlaybackPositionTicks, LastPlayedDate). SaveReason TogglePlayed is a person marking
//     played or unplayed; UpdateUserData is most likely keepwatch's own write coming back,
//     and is reported as the state it is (the engine's base drops echoes); the reason is in
//     Observation.Event ("UserDataSaved/TogglePlayed");
//   - ItemAdded (no user fields; the plugin holds it until the item has provider ids): a
//     Movie or an Episode becomes one WebhookResult.Added entry, the item alone (id, title,
//     GUIDs, series id and name, numbers, runtime; no account, no state), from which the
//     engine writes every household member's state to the new copy. A Series or a Season is
//     ignored with a reason (each of its episodes gets its own ItemAdded), as are other
//     types. The plugin sends ItemAdded again after rescans (wire-formats §6.3); that is
//     harmless, the engine's linking and writes are idempotent;
//   - SessionStart, authentication and other events: ignored with a reason;
//   - an item event without UserId (the plugin sends some, wire-formats §6.1): ignored with a
//     reason, the next import catches up.
//
// The plugin sends one playback webhook per user of a session, so each delivery is one
// account. GUIDs come from the Provider_* keys (the episode's own ids; the series' are not
// sent); positions and runtimes are ticks; dates come from UtcTimestamp (Timestamp is local
// time and sometimes carries a wrong Z). The plugin's Escape() puts a backslash before every
// quote of Name, SeriesName, NotificationUsername and a few more; it is removed.
//
// REST: Authorization: MediaBrowser Token="..." (the only form Jellyfin 12 accepts by
// default), the 10.9+ routes with the legacy /Users/{userId}/... routes as a fallback on 404
// (servers before 10.9). Progress writes need 10.9+ (POST UserData did not exist before).
//
// Options (plugins.Config.Options; besides those of backends/internal/mediabrowser/mbbackend:
// page_size [1000], concurrency [4], retries [4], timeout [30s]):
//
//	date_played_format  how datePlayed is sent when marking played: iso (2024-05-01T12:00:00.000Z)
//	                    or compact (20240501120000); Jellyfin reads both   [iso]
package jellyfin
