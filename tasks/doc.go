// Package tasks owns keepwatch's scheduled work: the robfig/cron scheduler
// (with Recover and SkipIfStillRunning), the task definitions — import (delta),
// import_full, export, backup, prune — run from their schedules in the config
// or on demand, and their run history. It drives core/engine and never talks
// to a backend except through the engine's Source and Writer interfaces.
//
// The scheduler itself arrives with the daemon issue; today the package only
// states its place in DESIGN.md's dependency direction (tasks → engine).
package tasks
