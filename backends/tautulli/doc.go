// Package tautulli is keepwatch's Tautulli backend: Plex play state seen
// through Tautulli, for households without Plex Pass (whose Plex servers send
// no webhooks) and as an extra history source for Plex. It is read-only:
// it implements plugins.WebhookParser and plugins.Importer, not Exporter
// (Tautulli cannot set play state; the config refuses export: true) nor
// Resolver (Tautulli knows only items that were played).
//
// # Configuration
//
//   - name: tautulli
//     type: tautulli
//     url: "http://tautulli:8181"       # plus Tautulli's HTTP root, if set; a trailing /api/v2 is accepted
//     token: "${TAUTULLI_API_KEY}"      # Settings > Web Interface > API key
//     options: {page_size: "1000", watched_percent: "90"}
//
// Options (strings, as every backend option):
//
//	page_size        history rows per get_history call, 1..10000, default 1000
//	watched_percent  1..100, default 90: a history row WITHOUT watched_status
//	                 counts as watched at percent_complete ≥ this (see Import);
//	                 the keepwatch daemon sets it to sync.watched_percent
//	                 unless the backend's options name it
//
// Any other option is refused with a *plugins.ConfigError naming it.
//
// # Server id and accounts
//
// CheckHealth calls get_server_info: ServerID is the Plex server's
// machineIdentifier (pms_identifier), the same id the Plex backend reports
// and the template's Server.uuid, so webhook.match_server works across both;
// ServerName and ServerVersion are Plex's; Detail names Tautulli's version
// (get_tautulli_info). A wrong key (Tautulli answers 401 "Invalid apikey") or
// an unreachable server is Reachable false with a Detail.
//
// ListAccounts calls get_users. Account ids are Tautulli's user_id, which is
// the Plex (plex.tv) account id; names are usernames. The "Local" pseudo-user
// (user_id 0: plays by no Plex account) is left out. The admin comes first.
//
// # Webhooks
//
// Tautulli's Webhook notification agent, "Webhook Method" PUT (as the "Plex
// via Tautulli" guide says) or POST (Tautulli's default), triggers
// Playback Start/Stop/Pause/Resume, Watched and Recently Added, with this
// JSON Headers template, {"user-agent": "Tautulli/{tautulli_version}"}, and
// the JSON Data template in testdata/webhook_data_template_watchstate.json
// (the Plex-webhook-like template WatchState documents, so a household can
// keep the one it has). Tautulli parses the template as JSON and formats
// every string in it, so each substituted value arrives as a JSON string
// ("viewOffset": "754000"); null stays null; an unknown {name} stays as it
// is. ParseWebhook reads:
//
//	event                      "tautulli.{action}"
//	Account.id, .title         {user_id} (the Plex account id), {username}
//	Server.uuid                {server_machine_id} → WebhookResult.ServerID
//	Metadata.ratingKey         {rating_key} → ItemID
//	Metadata.type              {media_type}: movie or episode; others are ignored
//	Metadata.title             {episode_name}: the episode's or the movie's title
//	Metadata.grandparentRatingKey, grandparentTitle   the show, for episodes
//	Metadata.parentIndex, index                       {season_num}, {episode_num}
//	Metadata.librarySectionID, librarySectionTitle    the library, for filters
//	Metadata.viewOffset, duration                     {view_offset}, {duration_ms}: milliseconds
//	Metadata.guid              {guid}: plex://…, or a legacy agent string
//	Metadata.Guids             {imdb_id}, {thetvdb_id}, {themoviedb_id}, {tvmaze_id}
//	Metadata.year              {show_year}: a movie's year when the user's template gives it
//
// Actions: play and resume give progress with Playing; pause and stop give
// progress; all four set State.InferCompletion, because Tautulli sends no
// completion flag with them and the engine decides by sync.watched_percent.
// watched is Tautulli's own completion signal (its MOVIE/TV_WATCHED_PERCENT
// threshold, default 85 %): WatchedKnown, Watched, and PlayedAt = the
// receive time, since the template carries no time but the local *date* of
// the previous view and Tautulli sends watched as the play crosses the
// threshold. No progress is sent with watched. created (recently added)
// names no user and needs none: a movie or an episode becomes one
// WebhookResult.Added entry, the item alone (ratingKey, title, GUIDs, show
// and numbers, library, duration; no account, no state) built as a play's
// item is, and the engine writes every household member's state to the new
// copy; Account.id is not read. Tautulli groups episodes added together
// into one notification of their show or season
// (NOTIFY_GROUP_RECENTLY_ADDED_GRANDPARENT and _PARENT, on by default),
// which names none of them: a created show or season is ignored with a
// reason saying to turn that grouping off. A created that comes again is
// harmless, the engine's linking is idempotent. Tautulli's other actions
// (buffer, error, intro, …) are ignored with a reason. Tautulli's "Test
// Notifications" button sends the templates unsubstituted:
// "tautulli.{action}" is ignored as a test notification.
//
// Ids: for an episode Tautulli takes {imdb_id}/{thetvdb_id}/{themoviedb_id}
// from the SHOW (the grandparent's guids), so the Guids map becomes
// ShowGUIDs, with Season and Episode, and the engine matches the episode by
// show + season + episode; the episode's own GUIDs come only from its Plex
// guid (plex://episode/… → plex:episode/…; a legacy
// com.plexapp.agents.thetvdb://81189/1/1 names the show and the numbers).
// Show GUIDs are dropped when a number is missing, as they would match the
// wrong episode. For a movie both are its own GUIDs. Plex guid strings are
// parsed with guids.PlexAgent, the Plex backend's parser.
//
// Absent values: "", "None", "null" and unsubstituted "{placeholders}" are
// absent (guids.IsAbsent); "0" is a value for numbers (a position at the
// start, season 0 for specials) but Account.id "0" is the Local user and is
// ignored. Malformed ids are skipped (logged at debug), not fatal. A body
// that is not a JSON object, is form-encoded or multipart (Tautulli sends
// form data only when the headers template changes Content-Type), lacks
// event, Account.id (on a play event; created needs none),
// Metadata.ratingKey or Metadata.type, or whose event is not tautulli.*, is
// rejected with plugins.Reject and a reason; so is a delivery by the
// agent's other methods (GET, PATCH, DELETE), with a reason saying to set
// the Webhook Method to PUT or POST.
//
// # Import
//
// Import calls get_library_names, then for every movie and TV section the
// filter lets through (by id or name, exclude wins), get_history with
// user_id = ImportRequest.AccountID, section_id, media_type movie|episode,
// grouping=1, include_activity=0, order_column=date, order_dir=desc, paged
// with start/length (length = page_size) until a short page or
// recordsFiltered. Rows decode Tautulli's loose types: integers or "" (a
// movie's parent_rating_key, an episode's year), watched_status and
// percent_complete numbers that may hold a fraction.
//
// History is a log of plays, several rows per item, and an import must give
// each item once with its latest state, so rows are folded per item (one
// small entry per played item of the section being read; rows are not
// kept): Watched when any row records a completion, PlayedAt the newest
// such row's stopped time, PlayCount the number of such rows; an item with
// only partial plays is unwatched (Tautulli has recorded no completion;
// rule 3 keeps that from unwatching anything on a first import). A row
// records a completion when its watched_status is 1: Tautulli's own rule
// (percent_complete ≥ its MOVIE/TV_WATCHED_PERCENT, default 85, or the
// credits marker), which wins whenever the row has it; 0.75, 0.5 and 0.25
// are partial plays and 0 barely started. A row without watched_status
// (absent, null or "") is decided by DESIGN rule 6, the rule for a server
// that gives no completion signal: percent_complete ≥ options.watched_percent
// (default 90). A row with neither is no completion. Observations carry
// the row's Plex guid (rows have no external ids), titles, show, numbers
// and library; they come movies first, then episodes, each newest play
// first.
//
// Rows carry no resume position: percent_complete, but neither view_offset
// nor the item's length (a row's duration, like play_duration, is the time
// played in seconds, pauses excluded; Tautulli's get_history computes
// percent_complete from the session's view_offset and the item's length and
// returns neither). A partial play's percent cannot be turned into a
// position without the length, so imports carry no progress; Tautulli's
// webhooks do.
//
// With Since, get_history gets after = a date safely before Since (Tautulli
// compares it with the server's local date of each session's start), rows
// are kept only when they ended (stopped) after Since, and paging stops at
// the first row whose date is more than a day (sinceSlack) before Since.
// An item with only partial plays in that window is left out: it says
// nothing about the watched flag (an older completion may exist).
//
// Errors: a refused key and Tautulli's own error answers ("Check the logs
// for errors") keep Tautulli's message; a server that is down, overloaded or
// answers 5xx is wrapped with plugins.ErrUnavailable so the host retries.
// The API key is never logged nor put in errors (httpx.Redact).
package tautulli
