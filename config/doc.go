// Package config owns keepwatch's configuration file (keepwatch.yaml): its
// shape, defaults, ${ENV} expansion, *_file secrets and validation.
//
// Load reads one YAML file into a Config. Every problem found is reported at
// once, each naming the file, line, field path, the bad value and the fix,
// for example:
//
//	keepwatch.yaml:14: backends[1].type: unknown type "plexx" (known: plex, jellyfin, emby, tautulli)
//
// Unknown keys are errors so a typo is never silently ignored. Credentials are
// held as Secret values, which print and marshal redacted; no error or String
// output of this package contains a token or API key.
//
// Starter returns the commented file `keepwatch init` writes; it lists every
// option with its default and loads to exactly Defaults().
package config
