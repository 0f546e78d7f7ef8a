// Package fakeserver is an in-memory HTTP server that behaves like Jellyfin and Emby for
// play-state sync tests: users, libraries, a generated library of any size, per-user user
// data, the item/user-data routes of both route generations, authentication, webhooks in
// the real shapes, and the documented quirks. The two servers share an API lineage (Jellyfin
// forked Emby 3.5), so one implementation serves both; the thin packages
// backends/jellyfin/fake and backends/emby/fake configure the differences through Config.
//
// What it owns:
//   - the library model: items generated on demand from (Seed, index), never stored, so a
//     100k-item library costs a few struct fields; items added by tests and per-user user data
//     live in maps that only hold what was touched (user data of untouched items is derived
//     from the seed too);
//   - the HTTP surface (router.go, handlers.go, query.go) with per-route request and
//     items-returned counters, request recording, and fault injection (429/5xx/401/delay);
//   - user-data semantics ported from the servers' shared source (BaseItem.MarkPlayed,
//     MarkUnplayed, UserDataManager.SaveUserData, UpdatePlayState), see userdata.go;
//   - webhooks: the Jellyfin Webhook plugin's Generic destination with "Send All Properties"
//     and Emby's native webhooks, queued and delivered in order (webhook.go).
//
// Evidence for the behaviours, and where this fake departs from what is known, is written
// next to the code that models it ([src] = read in the server's own source, [obs] = seen in a
// captured payload, [3p] = relied on by a third-party client, [?] = inferred).
//
// Emby's MinDateLastSavedForUser, decided from evidence rather than from Jellyfin:
//   - the last open-source Emby (MediaBrowser/Emby, Emby.Server.Implementations/Data/
//     SqliteItemRepository.cs) filtered MinDateLastSavedForUser on the ITEM's DateLastSaved,
//     exactly like Jellyfin does to this day, and its MinDateLastSaved clause bound the wrong
//     parameter name (so MinDateLastSaved alone failed) [src];
//   - Emby's own Kodi add-on maintainer (MediaBrowser/plugin.video.emby#276, 2019): "With
//     server version higher than 4.2.0.23, it will now be possible to use MinDateLastSaved
//     (updates) and MinDateLastSavedForUser (userdata updates)" [3p, vendor's own client];
//   - a client measuring Emby 4.9.5.0 (2026-07-31, 1,126,674 items): a 30-day cursor returned
//     28,934 items for MinDateLastSaved and 29,005 for MinDateLastSavedForUser, a cursor ten
//     years ahead returned 0 for both [3p, measured].
//
// So from Emby 4.2.0.23 on, this fake answers MinDateLastSavedForUser with the items whose own
// DateLastSaved is at or after the date OR whose user data for that user was saved at or after
// it (a union fits the measurement: the user-data set was the library-edit set plus ~71 items).
// Before 4.2.0.23 it behaves like the open-source code. Jellyfin keeps the item-only filter in
// every version (BaseItemRepository.TranslateQuery.cs in 10.11; jellyfin/jellyfin#17542), and
// before 10.11 MinDateLastSaved without MinDateLastSavedForUser answers 500 as the SQL path did.
package fakeserver
