// Package fake is a fake Tautulli (APIv2 and its webhook agent) for tests
// and demos, faithful to shared/wire-formats.md §5, Tautulli's own code and
// the captured answers in testdata/ (TestShapesMatchCaptures holds every
// answer to the captured keys and JSON types).
//
// # Use
//
//	f := fake.New(fake.Options{Seed: 1, Users: 3, Movies: 100, Shows: 5, PlaysPerUser: 500})
//	ts := httptest.NewServer(f) // Tautulli base URL; the API answers at {any root}/api/v2
//	cfg := plugins.Config{Type: "tautulli", URL: ts.URL, Token: f.APIKey()}
//
// The fake holds users (user 0 "Local" first, then Plex users whose first is
// the admin), three sections (1 Movies, 2 TV Shows, 3 Music, the last empty),
// a generated library and a generated history: PlaysPerUser rows per user
// over the year before Options.Now, mostly finished plays, some abandoned,
// one in ten resumed later (a grouped row of two sessions whose reference_id
// differs from row_id, as in the capture). Everything derives from Seed, so a
// history of any size is the same on every run. The catalog follows the Plex
// fake's shape: new-agent guids plex://movie|episode/<24 hex>, and one movie
// and one show in ten on a legacy agent (com.plexapp.agents.imdb://tt…?lang=en,
// com.plexapp.agents.thetvdb://<show tvdb>/<season>/<episode>?lang=en).
//
// Helpers: Users, Owner, Items, Item, Sections, History (newest first),
// AddPlay (a finished session: row ids grow), WatchedStatus, Calls (per
// command, for asserting how a client paged), Fail (the next n calls of a
// command answer a status with Tautulli's error envelope), Webhook and
// SendWebhook (below), Params and Substitute.
//
// # API
//
// GET or POST {root}/api/v2?apikey=…&cmd=…, JSON only (out_type is
// ignored). Every answer is {"response":{"result":"success"|"error",
// "message":null|"…","data":…}}, Content-Type application/json;charset=UTF-8.
// Checks run in Tautulli's order: no apikey → 401 "Parameter apikey is
// required"; no cmd → 400 "Parameter cmd is required. Possible commands
// are: …"; unknown cmd → 400 "Unknown command: x. Possible commands are: …"
// (even with a wrong key); wrong key → 401 "Invalid apikey"; error data is
// {}. A parameter Tautulli casts with int() that is not a number fails the
// call with 500 "Check the logs for errors".
//
// Commands:
//
//	get_users            rows with nulls for what the Local user lacks, user_id an
//	                     integer, shared_libraries a JSON array of strings (current
//	                     Tautulli; the capture, from an older one, has "1;2" and
//	                     server_token)
//	get_history          user_id, user, rating_key, parent_rating_key, grandparent_rating_key,
//	                     section_id (comma lists), media_type (comma list), guid (prefix,
//	                     ?lang stripped), search, start_date/before/after (YYYY-MM-DD, inclusive,
//	                     compared with the row's date as a local date of Options.Location,
//	                     default UTC-5, as Tautulli uses SQLite's "localtime"),
//	                     order_column (date default, started, stopped, duration,
//	                     paused_counter, player, platform, full_title; ties by row id),
//	                     order_dir (desc default), start, length (default 25).
//	                     data = {recordsFiltered, recordsTotal, draw, filter_duration,
//	                     total_duration ("3 hrs 56 mins 30 secs"), data: rows}. Rows have
//	                     integers where a column has a value and "" where it has none
//	                     (a movie's parent_rating_key, grandparent_rating_key, media_index,
//	                     parent_media_index; an episode's year), watched_status 1, 0.5 or 0
//	                     from percent_complete and WatchedPercent (85) (left out with
//	                     OmitWatchedStatus), state and session_key null, no view_offset
//	                     and no item length (duration is the time played, in seconds).
//	get_server_info      pms_identifier = MachineID, pms_name, pms_version, ints for ports/flags
//	get_server_identity  [{machine_identifier, version}]
//	get_tautulli_info    tautulli_version and friends
//	get_library_names    [{section_id (int), section_name, section_type}]
//	get_activity         nothing playing; stream_count is the string "0"
//	arnold               a quote
//
// Simplifications: the history is stored already grouped, so grouping=0
// answers the same rows; include_activity adds nothing (no sessions play);
// date filters apply to the row's date (its last session's start) rather
// than to each session before grouping.
//
// # Webhooks
//
// Webhook(ev) builds what Tautulli's Webhook agent sends for an Event
// {Action, UserID, RatingKey, ViewOffset} with the embedded templates
// (webhook_data_template.json, the seed's "Plex via Tautulli" template, and
// webhook_headers_template.json): Substitute parses the template as JSON and
// formats every string (keys too) with Params(ev), so all values become
// strings, null stays null, unknown {names} stay literal. Params follow
// Tautulli's notification_handler: for an episode {imdb_id}, {thetvdb_id},
// {themoviedb_id} are the SHOW's ids and {show_year} the show's year; for a
// movie {show_name} and {show_year} are "" and {season_num}/{episode_num}
// are "0" (str(”).zfill(1)); {tvmaze_id} is "" (lookups off); created
// (recently added) carries no user fields; dates use YYYY-MM-DD in the
// server's zone. Headers: Content-Type application/json, User-Agent
// Tautulli/<version>. SendWebhook sends it to a URL with
// Options.WebhookMethod: PUT, as the "Plex via Tautulli" guide says, unless
// set to one of the agent's other methods (POST, Tautulli's default; GET,
// PATCH, DELETE), the body sent whatever the method. Golden bodies are in
// testdata/golden (go test -update rewrites them).
package fake
