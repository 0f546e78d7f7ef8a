// Package tasks owns keepwatch's scheduled work: the robfig/cron scheduler
// (with Recover and SkipIfStillRunning), the five tasks — import (delta),
// import_full, export, backup, prune — run from their schedules or on demand
// (CLI and API through Scheduler.Run), and their place in the run history.
//
// Import and export go through a Syncer the daemon implements on top of
// core/engine; the Syncer creates and finishes their runs. Backup and prune
// are done here, against core/store, and record their own runs. Whatever a
// task does, its run ends with a final status: a panic or an error before
// the run finished marks it failed with the cause, and runs a crashed daemon
// left "running" are marked failed when the next one starts.
//
// One run of each task at a time, and import and import_full never together:
// a second start is refused with ErrBusy on demand and skipped on schedule. Runs use the scheduler's own context, which
// Stop cancels before it waits for them.
package tasks
