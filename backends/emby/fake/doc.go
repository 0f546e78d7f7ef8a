// Package fake is a fake Emby Server for tests and the demo: the shared MediaBrowser fake
// (backends/internal/mediabrowser/fakeserver) configured as Emby.
//
// What is Emby-specific here:
//   - every route also answers under /emby; only the /Users/{UserId}/... route forms exist
//     (no /UserPlayedItems, /UserItems or /UserViews), plus GET /Items?UserId=;
//   - authentication: X-Emby-Token or ?api_key=, X-Emby-Authorization: Emby ... Token="...",
//     and Authorization: MediaBrowser Token="..." (the open-source AuthorizationContext reads
//     X-Emby-Authorization, then Authorization, with scheme MediaBrowser or Emby; WatchState
//     uses the Authorization form against 4.8/4.9);
//   - item ids are numeric strings; /System/Info reports a four-part Version;
//   - POST /Users/{UserId}/PlayedItems/{Id}?DatePlayed= takes only yyyyMMddHHmmss (the server
//     calls DateTime.ParseExact; anything else is a 500);
//   - GET /Items without UserId runs for no user, whatever the token;
//   - from 4.8, list responses omit UserData.LastPlayedDate and report PlayCount 0 unless
//     Fields names UserDataLastPlayedDate / UserDataPlayCount;
//   - MinDateLastSavedForUser also selects items whose user data changed (from 4.2.0.23; see
//     the fakeserver package documentation for the evidence), and AnyProviderIdEquals filters;
//   - webhooks are Emby's native ones: JSON (application/json; charset=utf-8) or multipart
//     with a "data" field, User-Agent "Emby Server/<version>", events playback.start / pause /
//     unpause / stop (PlaybackInfo.PlayedToCompletion on stop), item.markplayed /
//     item.markunplayed (also for marks made through the API: our writes echo), library.new
//     and system.notificationtest; User is present only for users listed in the
//     destination's "Limit user events to".
package fake
