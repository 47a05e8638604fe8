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
	s, err := cronParser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("bad cron spec %q: %w", spec, err)
	}
	return s, nil
}

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
