// Package fake is a fake Jellyfin server for tests and the demo: the shared MediaBrowser
// fake (backends/internal/mediabrowser/fakeserver) configured as Jellyfin.
//
// What is Jellyfin-specific here:
//   - versions: 10.9+ serves both route generations (/UserPlayedItems, /UserItems/{id}/UserData,
//     /UserViews, GET /Items/{id} beside the legacy /Users/{userId}/... routes); Version10_8
//     serves only the legacy ones, so a client's 404 fallback can be tested; Version12 turns
//     legacy authorization off by default (migration DisableLegacyAuthorization);
//   - authentication: Authorization: MediaBrowser Token="..." and ?ApiKey= always; X-Emby-Token,
//     X-MediaBrowser-Token, api_key, X-Emby-Authorization and the "Emby" scheme only with
//     legacy authorization (LegacyAuth);
//   - ids are 32 hex digits without dashes; UserData.ItemId is all zeros in item DTOs;
//   - MinDateLastSavedForUser filters on the item's own DateLastSaved, never on user data
//     (BaseItemRepository.TranslateQuery.cs, 10.11+), so watch changes are invisible to it;
//   - AnyProviderIdEquals is not a Jellyfin API parameter: it is ignored, as ASP.NET ignores
//     unknown query parameters;
//   - webhooks are the Webhook plugin's Generic destination with "Send All Properties"
//     (text/plain JSON by default, application/json with a configured header, or the Generic
//     Form destination), one PlaybackStart/Progress/Stop per user in the session,
//     UserDataSaved with SaveReason (TogglePlayed for marks, UpdateUserData for POST
//     UserData), ItemAdded without user keys, and the `\"` quirk of Escape().
package fake
