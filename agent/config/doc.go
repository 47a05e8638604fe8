// Package config is the agent's configuration: Config, the table of every
// property key with its default and help (Keys), the property file and
// servo.conf readers (LoadConfig), the origin of each value (Settings),
// window schedules (ParseSchedule, WindowSchedule, NextWindowEnd) and
// Diff, which says what applying a new configuration takes (a rebind, a
// re-provision, a new identity, keys that need a restart).
//
// A *Config is an immutable value once loaded: derived configurations
// (WithIdentity, WithAccessLog, KeepRestartValues) are copies. There is
// no lock. It imports agent/identity and nothing else of the agent.
package config
