// Package host runs keepwatch's backend plugins: one supervised process per
// configured backend.
//
// Built-in backends run by re-executing the keepwatch binary as
// `keepwatch plugin serve <type>`; external ones are executables named
// keepwatch-backend-<type> in the plugins directory. Either way the backend
// runs out of process, so a crashing backend cannot take the daemon down.
//
// Each Instance supervises its process: it notices the process exiting and
// pings it, restarts it with capped exponential backoff (replaying the last
// accepted configuration), and reports its state (starting, ready,
// restarting, failed, stopped) for /readyz and the API. An Instance is a
// plugins.Client, so the engine uses it like an in-process backend; a call in
// flight when the plugin dies fails with plugins.ErrUnavailable and the caller
// retries once the instance is ready again.
//
// Plugin logs arrive as hclog JSON lines on the plugin's stderr; the log
// bridge here turns them into zerolog events on the host's logger with the
// backend's name and each line's level.
package host
