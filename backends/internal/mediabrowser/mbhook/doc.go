// Package mbhook holds what the Jellyfin and Emby webhook parsers share: taking a delivery's
// body apart whatever its encoding (a JSON object in a text/plain or application/json body,
// an application/x-www-form-urlencoded form, a multipart/form-data form), a flat
// case-insensitive view of a loosely typed object whose values may be JSON values or
// form strings, the refusal of garbage with plugins.Reject, the reason an event about an
// item that is not a movie or an episode is ignored (NotVideo), and the state a completion
// sets (Completed). Which events are completions stays in backends/jellyfin and
// backends/emby.
package mbhook
