// Package jsonfile is an example keepwatch backend whose "server" is a JSON
// file: a library of movies and episodes with each account's play state.
// It implements every capability (webhooks, import, export, resolve) in
// plain Go against the plugins contract, and is served as an external plugin
// by the main package beside it.
//
// The file (see testdata/library.json):
//
//	{
//	  "server_id": "...", "server_name": "...",
//	  "accounts":  [{"id": "1", "name": "alice", "admin": true}],
//	  "libraries": [{"id": "1", "name": "Movies"}],
//	  "items": [
//	    {"id": "m1", "library": "1", "kind": "movie", "title": "Heat", "year": 1995,
//	     "guids": ["imdb:tt0113277"], "duration_ms": 10200000,
//	     "plays": {"1": {"watched": true, "played_at": "2024-05-06T07:08:09Z", "play_count": 1,
//	                     "position_ms": 0, "playing": false, "updated_at": "2024-05-06T07:08:09Z"}}},
//	    {"id": "e1", "library": "2", "kind": "episode", "title": "Pilot",
//	     "show": {"id": "s1", "title": "Breaking Bad", "guids": ["tvdb:81189"]}, "season": 1, "episode": 1, ...}
//	  ]
//	}
//
// "items" comes last: imports decode the file as a stream, item by item, so
// memory stays flat whatever the library's size. Writes rewrite the file
// atomically (temporary file, fsync, rename).
package jsonfile
