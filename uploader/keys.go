package uploader

import "time"

// SeedKey returns the object key of the original recipe's layout for a window
// ending at end: elb-access-DDMMYYYY-HHMMSS.log, in UTC.
func SeedKey(end time.Time) string {
	return end.UTC().Format("elb-access-02012006-150405.log")
}
