package status

import (
	"sort"
	"sync"
	"time"
)

// maxMessage bounds an error message kept for the page (bytes).
const maxMessage = 400

// Recorder keeps what the status page shows and no component counts: the
// last acknowledged upload, the last error of each cause and the outcome
// of the last configuration load. Safe for concurrent use; the zero value
// is ready (no reload yet: call Loaded at start).
type Recorder struct {
	mu     sync.Mutex // guards the fields below
	upload *Upload
	errs   map[string]Error
	reload Reload
}

// Uploaded records an acknowledged upload.
func (r *Recorder) Uploaded(u Upload) {
	u.Time = u.Time.UTC()
	r.mu.Lock()
	r.upload = &u
	r.mu.Unlock()
}

// Failed records err as the last error of cause at t, and counts it.
func (r *Recorder) Failed(cause string, t time.Time, err error) {
	if err == nil {
		return
	}
	msg := err.Error()
	if len(msg) > maxMessage {
		msg = msg[:maxMessage] + "..."
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.errs == nil {
		r.errs = map[string]Error{}
	}
	e := r.errs[cause]
	r.errs[cause] = Error{Cause: cause, Time: t.UTC(), Message: msg, Count: e.Count + 1}
}

// Loaded records the outcome of loading the configuration at t: at start
// (err nil) and at each reload. err is why a reload was rejected.
func (r *Recorder) Loaded(t time.Time, err error) {
	t = t.UTC()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reload.Time = t
	r.reload.Successful = err == nil
	r.reload.Error = ""
	if err != nil {
		r.reload.Error = err.Error()
	} else {
		r.reload.LastSuccess = t
	}
}

// Reload returns the outcome of the last configuration load.
func (r *Recorder) Reload() Reload {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reload
}

// Last returns the last upload (nil before the first) and the last error
// of each cause, newest first.
func (r *Recorder) Last() (*Upload, []Error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var up *Upload
	if r.upload != nil {
		u := *r.upload
		up = &u
	}
	errs := make([]Error, 0, len(r.errs))
	for _, e := range r.errs {
		errs = append(errs, e)
	}
	sort.Slice(errs, func(i, j int) bool {
		if !errs[i].Time.Equal(errs[j].Time) {
			return errs[i].Time.After(errs[j].Time)
		}
		return errs[i].Cause < errs[j].Cause
	})
	return up, errs
}
