// Package control owns everything that changes a running agent: hot
// reload of the property file (file watch, debounced, and SIGHUP), the ELB
// API follower of elb-api mode (polls, the last known attribute in
// elb-api-state.json, the effective configuration it makes) and the
// identity results of the instance metadata resolver.
//
// One goroutine, Run's, selects over file-watch events, SIGHUP, Reload
// requests, ELB API poll results (the poller goroutine only calls the API
// and hands each answer over) and identity results (the resolver's
// callback hands them over without blocking; the newest wins). It calls
// config.Diff and pushes changes into the components through setters it
// declares (Ingest, Windows, Shipping): format, enabled and the load
// balancer's name into ingest, spool.max_bytes and
// access_log.max_object_bytes into the spool's clock, the configuration,
// identity and re-provisioning into ship; log.level and log.format into
// the agent's log handler. Its state (the
// property file's configuration, the ELB attribute, the watch) is confined
// to that goroutine and needs no lock. What others read is published in
// Live, an atomic pointer only that goroutine stores: the configuration in
// force, its window schedule (the spool's next-window function reads it)
// and the load balancer's name. Counters are atomics (Stats).
//
// A component never imports this package; the root agent builds a
// Controller in New and runs it with the components in Run.
package control
