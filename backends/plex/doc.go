// Package plex is the Plex Media Server backend: webhooks, import, export and
// resolve for the owner and every Plex Home, managed and shared user of one
// server, with each user's server token obtained from plex.tv. Wire details
// follow shared/wire-formats.md §1, §2, §6 and §7; the fake it is tested
// against is package fake beside it.
//
// # Configuration
//
//	backends:
//	  - name: plex-home
//	    type: plex
//	    url: "http://192.168.1.10:32400"
//	    token: "${PLEX_TOKEN}"      # the server owner's Plex token
//	    options: {page_size: "1000"}
//
// url is the PMS base URL (http or https). token is the owner's plex.tv
// token; it is also the owner's PMS token (when PMS refuses it, the owner's
// accessToken for this server is looked up among its plex.tv resources).
//
// Options (all strings, all optional):
//
//	page_size           items per PMS page (X-Plex-Container-Size) and per
//	                    emitted import page; 1–10000, default 1000. A smaller
//	                    ImportRequest.PageSize wins.
//	concurrency         requests in flight to PMS at once (Apply runs writes in
//	                    parallel up to it); 1–32, default 4.
//	timeout             per-request timeout, a Go duration 1s–10m, default 30s.
//	plextv_url          plex.tv base URL, default https://plex.tv. Tests point
//	                    it at the fake.
//	plextv_clients_url  base URL of the Home user switch, default
//	                    https://clients.plex.tv, or plextv_url when that is set.
//	client_identifier   X-Plex-Client-Identifier sent on every request; default
//	                    "keepwatch-" + 16 hex derived from the backend name and
//	                    url (stable across restarts, so plex.tv sees one device).
//	home_pins           PINs of protected Plex Home members, "member=PIN,…"; a
//	                    member is named by plex.tv uuid, id, username or title
//	                    (case-insensitive), e.g. "kid=1234". Without its PIN a
//	                    protected member's token is taken from shared_servers
//	                    when plex.tv lists it there.
//
// Unknown options are refused, so a misspelt option is not silently ignored.
//
// # Accounts
//
// Account ids are plex.tv ids (what webhooks carry for everyone but the owner,
// and Tautulli's user_id). PMS itself calls the owner 1 (webhooks of many
// versions, /accounts, sessions); "1" is accepted wherever an account id comes
// in and is mapped to the owner's plex.tv id, so a webhook's account and
// ListAccounts agree. Names are plex.tv usernames, or the title of managed
// users, who have none: the same string the webhook's Account.title carries.
// ListAccounts lists the owner first (Admin), then Home and managed users,
// then shared users. Tokens: the owner's is the configured one; Home and
// managed users' come from a switch and the member's resources, shared users'
// from shared_servers (wire-formats §2.3). The list is cached for an hour and
// a user's token is fetched again when PMS answers 401.
//
// # Webhooks
//
// multipart/form-data with a "payload" part (the "thumb" JPEG is skipped),
// at most MaxWebhookBytes. media.scrobble is watched (PlayedAt = lastViewedAt);
// media.play/resume/pause/stop are progress (viewOffset), play and resume with
// Playing. library.new answers WebhookResult.Added, without observations: a
// movie or an episode as itself, a season or show a scan found whole as its
// episodes (GET /library/metadata/{ratingKey}/allLeaves?includeGuids=1 with
// the owner's token). Added entries carry the item only (no account, no
// state), and the result no account: library.new's Account is the webhook's
// own, not anyone's play. A season or show the server no longer has, and
// artists, tracks, photos and clips, are ignored with a reason. media.rate,
// library.on.deck, admin.*, device.new, playback.started and non-video items
// of media.* are ignored with a reason. An episode's show GUIDs are looked up
// from grandparentRatingKey for new-agent shows, through an LRU cache of 2048
// shows kept an hour. A lookup the server cannot answer (down, 5xx, 429) is
// plugins.ErrUnavailable, so the delivery is retried.
//
// # Import
//
// /library/sections, then per movie or show section
// /library/sections/{key}/all?type=1|4&includeGuids=1, paged; a full import
// reads the section's shows once (type=2) for their GUIDs. With Since, only
// items with lastViewedAt or updatedAt after it are listed (play state never
// moves updatedAt; a saved position stamps lastViewedAt). Absent viewCount,
// viewOffset and lastViewedAt mean 0. Libraries are included or excluded by
// section key or title.
//
// # Export
//
// PUT /:/scrobble, PUT /:/unscrobble and POST /:/timeline (state=stopped,
// time, duration, X-Plex-Client-Identifier) with the account's token. The
// current state is read first, so a write the server already reflects is not
// repeated (a second /:/scrobble would add a view). /:/scrobble takes no
// date: the server's clock dates the play. Progress is not written to an item
// the same account is playing (/status/sessions): the outcome is
// SkippedPlaying. 429 and 5xx are retried with backoff (httpx).
//
// # Resolve
//
// PMS cannot search the external ids of new-agent items, so Resolve keeps an
// index of movie and show GUIDs (one sweep per section, rebuilt after ten
// minutes); episodes are found by show GUID plus season and episode number
// among the show's episodes (allLeaves).
package plex
