// Package fake is a fake Plex Media Server plus the plex.tv endpoints a sync tool
// uses, in one http.Handler for httptest. It owns a generated library, many users
// with per-token play state, playback sessions, webhooks, and failure injection.
// Its behaviour follows shared/wire-formats.md §1–2, §6–7, quirks included; where
// real Plex is unclear, the choice made is written here with its reason.
//
// # Use
//
//	srv := fake.MustNew(fake.Options{Seed: 1, Movies: 100, Shows: 5, SeasonsPerShow: 2, EpisodesPerSeason: 8})
//	ts := httptest.NewServer(srv) // PMS base URL and plex.tv base URL alike
//	owner := srv.Owner()          // owner.PlexTVToken, owner.ServerToken
//
// State helpers (MarkWatched, SetProgress, SeedWatched, State) take a user by title,
// username, uuid, plex.tv id or token. Playback helpers (Play, Pause, Stop, Scrobble)
// act like a player and send webhooks; API writes (/:/scrobble) send none, as on
// PMS. Requests, ItemsServed and IgnoredParams let a test assert how a client used
// the server; Fail injects 401/429/5xx/slow answers per route. Package plexspec
// validates traffic against plex-openapi.yaml.
//
// # Library
//
// Sections "1" (movies, tv.plex.agents.movie) and "2" (shows, tv.plex.agents.series)
// unless Options.Sections says otherwise. Items are kept compact (about 64 bytes
// each, titles and GUIDs derived on output) so 100k items cost a few MB. Listings are
// cached per query and state version, so paging through 100k items sorts once.
// RatingKeys are numeric strings from RatingKeyBase (default 1000) in generation
// order: show, its seasons, their episodes, next show.
//
// GUIDs: new-agent items have guid plex://movie|show|season|episode/<24 hex> and
// their external ids only in Guid[] (with includeGuids=1): imdb://tt…, tmdb://…, and
// tvdb:// for shows and episodes. An episode's Guid[] holds the episode's own ids;
// the show's ids are only on the show (type=2 listing or
// /library/metadata/{grandparentRatingKey}). LegacyFraction of the movies and shows
// (default 10%, chosen by Seed) carry legacy agent guids instead,
// com.plexapp.agents.imdb://tt…?lang=en or …themoviedb://…?lang=en for movies and
// com.plexapp.agents.thetvdb://<show tvdb id>/<season>/<episode>?lang=en for
// episodes, and no Guid[]: real libraries mix both after an agent migration. The
// catalog (titles, years, external ids) depends only on an item's position, not on
// Seed, so two fakes of the same sizes hold "the same media"; Seed varies tokens,
// machine id, dates and which items are legacy.
//
// # Play state
//
// State is per token: each user's server token sees its own viewCount, viewOffset
// and lastViewedAt, and the keys are absent when zero. /:/scrobble adds a view and
// sets lastViewedAt to the fake's clock (it takes no date) and drops the resume
// point; /:/unscrobble clears all three. A saved position also stamps lastViewedAt,
// so an in-progress item has lastViewedAt without viewCount (seen in real webhook
// payloads). Play state never moves updatedAt: a delta import that filters on
// updatedAt alone misses every play. Scrobbling a show or season applies to its
// episodes.
//
// POST /:/timeline takes effect only with X-Plex-Client-Identifier and a duration
// (WatchState: "Without duration & client identifier plex ignores watch progress
// update"); otherwise it answers 200 and changes nothing. playing/paused/buffering
// reports run a session (listed by /status/sessions, webhooks media.play, .pause,
// .resume); stopped ends it (media.stop). A stopped report with no session, which is
// how a sync tool writes a resume point, saves the position and sends nothing.
// Passing ScrobbleThreshold (90%) of the duration marks the item watched
// (media.scrobble during a session). The legacy /:/progress (GET/PUT/POST key, time)
// saves a position too, except for shared users: WatchState found it "does not"
// update external users' progress.
//
// # Media queries (/library/sections/{key}/all)
//
// Modelled from Plex's "Media Queries" documentation, python-plexapi's use and a
// published probe of a real server. Filters: field=value (comma = any of),
// field!=value, and the comparison keys field>>=v (greater than / after), field<<=v
// (less than / before), field>=v, field<=v. Because "=" separates key and value, the
// operator arrives as the key suffix (">>"); a client that percent-encodes that "="
// sends the key "updatedAt>=", which PMS silently ignores (the probe: an ignored
// filter returns the whole library). Fields: addedAt, updatedAt, lastViewedAt
// (dates: epoch seconds or relative "-30d", "+3600", units m h d w mon y; an unset
// date matches nothing), viewCount, viewOffset, year, duration, index (integers),
// unwatched, inProgress (booleans, =0/=1), title (=, ==, !=, !==, <= begins, >=
// ends). State fields are the token user's. A field may be qualified by the type
// it belongs to ("episode.addedAt", "show.title" on a type=4 query). push=1/pop=1
// group, or=1 makes the next term an alternative (AND binds tighter). sort=f[:desc]
// [:nullsLast],… on the same fields plus titleSort; unset values sort as smallest
// (SQLite's NULL); ties go by ratingKey, so paging is stable. The default order is
// titleSort (show, season, episode for episodes). limit=N caps the result. Unknown
// fields, operators and sort keys are ignored, as PMS does, and recorded in
// IgnoredParams so a test can catch them. Filters on shows/seasons use their
// episodes (unwatched = not all watched).
//
// Paging: X-Plex-Container-Start/-Size as query parameters or headers (the query
// wins when both are given); the response has X-Plex-Container-Start and
// X-Plex-Container-Total-Size headers, and offset/totalSize in the body when the
// client paged. Size 0 returns only the total; HEAD returns only the headers
// (WatchState counts libraries that way); no size returns everything.
//
// # Formats and errors
//
// JSON when Accept contains application/json, XML otherwise (string attributes,
// booleans "1"/"0", <Video> for movies and episodes, <Directory> for shows and
// seasons). A missing or wrong token gets 401 with PMS's HTML page; plex.tv answers
// {"errors":[{"code":1001,…}]}. Owner-only endpoints (/status/sessions, /accounts)
// answer another user's token with Options.NonAdminStatus (403, as PMS 1.47 does for
// sessions). /library/metadata/{ids} includes Guid[] with or without includeGuids
// (the detail view carries it). A section not shared with a user is hidden from its
// /library/sections and answers 404.
//
// # Accounts and plex.tv
//
// /accounts lists server-local ids: 0 (system), 1 (the owner, whatever its plex.tv
// id) and every other user under its plex.tv id. plex.tv routes are served by path
// on the same handler: GET /api/v2/user, GET /api/v2/home/users (Home members; a
// shared user sees a home of its own), POST /api/v2/home/users/{uuid|id}/switch
// (201 with authToken; a PIN-protected member needs ?pin=, otherwise 403 code 1041,
// admin included), GET /api/v2/resources (this server with accessToken = the
// caller's server token, plus a player and someone else's server, so the client
// must match provides == "server" and clientIdentifier), GET
// /api/servers/{machineIdentifier}/shared_servers (XML; every non-owner account with
// its server token, managed users with empty username/email) and GET /api/users
// (XML, or JSON when asked; Home members have home="1"). v2 endpoints model only
// JSON and answer 406 without Accept: application/json. PMS accepts only server
// tokens; the owner's server token is its plex.tv token until rotated.
// RotateServerToken/RotatePlexTVToken invalidate a token so a client's 401 →
// refresh path can be tested.
//
// # Webhooks
//
// Only playback produces media.* webhooks (Play, Pause, Stop, Scrobble, and
// /:/timeline sessions); marking played or unplayed through the API sends nothing,
// as on PMS. AddItem sends library.new, once per call, about the item it added: a
// movie, an episode, or a season or show with its episodes. A scan that finds a
// whole season or show announces it as itself (Metadata.type "season" or "show"),
// not episode by episode; wire-formats.md has no capture of that payload, so the fake
// sends the item as its listings do, and a receiver lists the episodes with
// /library/metadata/{ratingKey}/allLeaves. Each is POSTed as multipart/form-data with a
// "payload" part (application/json, compact) and, for media.play, media.rate and
// library.new, a "thumb" JPEG part, with User-Agent PlexMediaServer/<version>. The
// owner's webhook gets every account's events ("user": false, "owner": true for
// others); another account's webhook gets its own. Account.id is the plex.tv id,
// except that the owner is 1 unless OwnerWebhookAccountID says otherwise (both
// occur in the wild). Deliveries are synchronous: when Play returns, the receiver
// has answered (WebhookDeliveries records each).
package fake
