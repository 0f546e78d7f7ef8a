package tasks

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/robfig/cron/v3"
)

// Task names.
const (
	TaskImport     = "import"      // delta import from every backend
	TaskImportFull = "import_full" // full import: catches unwatches deltas cannot see
	TaskExport     = "export"
	TaskBackup     = "backup"
	TaskPrune      = "prune"
)

// Names lists every task in the order List reports them.
var Names = []string{TaskImport, TaskImportFull, TaskExport, TaskBackup, TaskPrune}

// Defaults of DESIGN.md's tasks block.
const (
	DefaultKeep     = 7  // backups kept of each kind
	DefaultKeepDays = 90 // days of journal and delivery history kept
)

// TaskConfig is one task's schedule and switch. Keep applies to backup,
// KeepDays to prune; zero takes the default.
type TaskConfig struct {
	Schedule string
	Enabled  bool
	Keep     int
	KeepDays int
}

// Config holds the tasks by name. A missing name takes DefaultConfig's entry;
// a present entry is taken as written, except that a zero Keep or KeepDays
// takes the default.
type Config map[string]TaskConfig

// DefaultConfig returns the defaults of DESIGN.md: hourly delta import and
// export, a weekly full import, a daily backup and prune.
func DefaultConfig() Config {
	return Config{
		TaskImport:     {Schedule: "@every 1h", Enabled: true},
		TaskImportFull: {Schedule: "0 3 * * 0", Enabled: true},
		TaskExport:     {Schedule: "@every 1h", Enabled: true},
		TaskBackup:     {Schedule: "0 4 * * *", Enabled: true, Keep: DefaultKeep},
		TaskPrune:      {Schedule: "0 5 * * *", Enabled: true, KeepDays: DefaultKeepDays},
	}
}

// parseSchedule reads a schedule the way config does: 5 standard fields, or a
// descriptor (@every 1h, @daily, ...).
func parseSchedule(spec string) (cron.Schedule, error) {
	return cron.ParseStandard(spec)
}

// resolve fills defaults and checks every entry, returning the first problem
// as an error that names the config field, the value and the fix.
func (c Config) resolve() (Config, error) {
	for _, name := range slices.Sorted(maps.Keys(c)) {
		if !slices.Contains(Names, name) {
			return nil, fmt.Errorf("tasks.%s: no such task (the tasks are %s)", name, strings.Join(Names, ", "))
		}
	}
	out := DefaultConfig()
	for _, name := range Names {
		tc, ok := c[name]
		if !ok {
			continue
		}
		def := out[name]
		if tc.Keep == 0 {
			tc.Keep = def.Keep
		}
		if tc.KeepDays == 0 {
			tc.KeepDays = def.KeepDays
		}
		out[name] = tc
	}
	for _, name := range Names {
		tc := out[name]
		field := "tasks." + name + ".schedule"
		switch {
		case tc.Schedule == "" && tc.Enabled:
			return nil, fmt.Errorf(`%s: required while the task is enabled (like "@every 1h" or "0 3 * * 0", or set enabled: false)`, field)
		case tc.Schedule != "":
			if _, err := parseSchedule(tc.Schedule); err != nil {
				return nil, fmt.Errorf(`%s: %q is not a cron schedule: %v (write 5 fields, minute hour day-of-month month day-of-week, like "0 3 * * 0", or a descriptor like "@every 1h" or "@daily")`, field, tc.Schedule, err)
			}
		}
	}
	if k := out[TaskBackup].Keep; k < 1 {
		return nil, fmt.Errorf("tasks.backup.keep: %d keeps no backup (write 1 or more, like %d)", k, DefaultKeep)
	}
	if d := out[TaskPrune].KeepDays; d < 1 {
		return nil, fmt.Errorf("tasks.prune.keep_days: %d is too small (write 1 or more days, like %d)", d, DefaultKeepDays)
	}
	return out, nil
}
