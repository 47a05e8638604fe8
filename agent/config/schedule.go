package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// cronParser accepts standard five-field specs, an optional leading seconds
// field, and descriptors such as @hourly.
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule parses a robfig/cron spec. Window boundaries are computed
// in UTC whatever the machine's zone.
func ParseSchedule(spec string) (cron.Schedule, error) {
	if f := strings.Fields(spec); len(f) > 0 && (strings.HasPrefix(f[0], "CRON_TZ=") || strings.HasPrefix(f[0], "TZ=")) {
		return nil, fmt.Errorf("cron spec %q: windows are aligned to UTC; remove %s", spec, f[0])
	}
	if f := strings.Fields(spec); len(f) > 0 && strings.HasPrefix(f[0], "@every") {
		return nil, fmt.Errorf("cron spec %q: @every counts from the agent's start, so windows would not be aligned to the UTC clock and a restart would move them; use a spec such as */5 * * * *", spec)
	}
	s, err := cronParser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("bad cron spec %q: %w", spec, err)
	}
	// robfig/cron gives up after five years without a match and returns
	// the zero time: such a spec would seal windows named after year 1.
	if s.Next(scheduleCheckFrom).IsZero() {
		return nil, fmt.Errorf("cron spec %q never fires (no such date)", spec)
	}
	return s, nil
}

// scheduleCheckFrom is where a schedule is checked to fire: any time does,
// since robfig/cron looks five years ahead and every date that exists
// recurs within four.
var scheduleCheckFrom = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// WindowSchedule returns the schedule whose ticks end windows: the cron
// spec when set, else every emit_interval minutes on the UTC clock.
func WindowSchedule(c *Config) (cron.Schedule, error) {
	spec := c.Schedule
	if spec == "" {
		spec = fmt.Sprintf("0 */%d * * * *", c.EmitInterval)
		if c.EmitInterval == 60 {
			spec = "0 0 * * * *"
		}
	}
	return ParseSchedule(spec)
}

// NextWindowEnd returns the first window end strictly after t, in UTC.
func NextWindowEnd(s cron.Schedule, t time.Time) time.Time {
	return s.Next(t.UTC()).UTC()
}
