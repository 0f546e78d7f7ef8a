// Package mbbackend is the part of the Jellyfin and Emby backends the two servers share:
// configuration and its options, health, accounts, import (full and delta), export and
// GUID resolution, all over mediabrowser/client. backends/jellyfin and backends/emby embed
// a *Backend and add what differs: Describe, webhook parsing and their own options.
//
// Import reads, per user and library (UserViews of type movies, tvshows or mixed; the
// request's include/exclude by id or name), every movie and episode with ProviderIds, Path
// and UserData, StartIndex/Limit paged and emitted page by page. Episodes carry their
// series' ProviderIds: the series of a page that are not known yet are read with one Ids=
// query (never one call per episode) and kept for the rest of the import.
//
// A delta import (ImportRequest.Since) reads what changed, not the library, with two
// queries of the same shape per library: the played items (Filters=IsPlayed) and the
// resumable ones (Filters=IsResumable), each sorted by DatePlayed descending (newest first,
// nulls last), in pages that start small and double, until the first item whose
// LastPlayedDate is null or before Since less a day. Playback start moves
// UserData.LastPlayedDate to now on both servers, so new plays and the progress of sessions
// come first; the day of slack catches a long or paused session that started before Since
// and finished or stopped after it (the date does not move when playback stops). On Emby
// 4.8+ the lists carry LastPlayedDate only when Fields names UserDataLastPlayedDate, which
// the client always adds. It does not use MinDateLastSavedForUser: Jellyfin 10.11+ applies
// it to the item's own save date, not to user data (BaseItemRepository.TranslateQuery.cs),
// and Emby before 4.2.0.23 did the same, so it misses watch changes. What a delta cannot
// see, webhooks and the periodic full import catch: unwatches (they clear LastPlayedDate);
// a position written through POST UserData by another client, which does not move
// LastPlayedDate; a mark played without a date, which keeps an older LastPlayedDate, or
// with a date before Since.
//
// Export: watched is a POST to PlayedItems with the play date, unwatched a DELETE, progress
// a POST of UserData with PlaybackPositionTicks only (the server copies it without its
// resume rules and leaves the watched flag alone). Each watched/unwatched write reads the
// item first and does nothing when the server already has that state, so writes are
// idempotent (marking played with a date counts a play each time it is sent). Progress is
// never written to an item that a session of the account is playing now (GET /Sessions,
// once per batch): plugins.SkippedPlaying. Writes run with bounded concurrency; 404 and
// other 4xx answers fail the write permanently, 5xx after retries fail it for a later retry,
// and authentication errors or an unreachable server fail the batch.
//
// Resolve finds items by GUID with the same item queries on both servers: Jellyfin ignores
// Emby's AnyProviderIdEquals (it is no parameter of its GetItems, so ASP.NET drops it and
// answers the unfiltered list), so the backends page through the library's movies (or
// series, then the matched series' episodes) reading ProviderIds only, and stop as soon as
// every query is answered. Episodes match by their own GUIDs or by a series GUID + season +
// episode.
//
// Options (plugins.Config.Options, shared by both servers):
//
//	page_size    items per request and per emitted page, 1-10000        [1000]
//	concurrency  requests in flight to the server, 1-32                 [4]
//	retries      retries of a failed request (429, 5xx, transport), 0-10 [4]
//	timeout      per-request timeout, a Go duration from 1s to 10m      [30s]
package mbbackend
