// Package client is the HTTP client of the Jellyfin and Emby backends: the API lineage the
// two servers share (Jellyfin forked Emby 3.5), spoken once.
//
// It owns authentication (Authorization: MediaBrowser Token="..." on both; Emby also gets
// X-Emby-Token, the form its documents name), the route generations (Jellyfin 10.9+ routes
// /UserPlayedItems, /UserItems/{id}/UserData, /UserViews and /Items?userId=, with the legacy
// /Users/{userId}/... routes as a fallback on 404; Emby's /Users/{UserId}/... routes under
// its /emby prefix), the DTOs the sync reads (BaseItemDto, UserItemDataDto, QueryResult,
// SessionInfo, UserDto, SystemInfo) with the servers' date spellings, StartIndex/Limit
// paging, and ticks (100 ns) to time.Duration. Every request goes through
// backends/internal/httpx: bounded concurrency, retries on 429/5xx, *httpx.AuthError on
// 401/403, tokens never in errors.
//
// What differs between the two servers beyond routes is a Flavor switch here when it is a
// protocol detail (which date format /PlayedItems takes, which Fields Emby needs to send
// UserData.LastPlayedDate in lists); sync decisions live in mediabrowser/mbbackend.
package client
