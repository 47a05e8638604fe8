//go:build race

package agent

// raceEnabled is true under the race detector, which slows every line.
const raceEnabled = true
