package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/elb-access-logger/elb-access-logger/internal/sdnotify"
)

// announceReady says the agent is ready, once Start returned: every
// listener is bound and the spool is open. systemd (Type=notify) gets
// READY=1 on $NOTIFY_SOCKET, an init script the pid file, written now.
// When ctx ends (the first SIGTERM) systemd gets STOPPING=1. done removes
// the pid file; call it when the agent has stopped.
func announceReady(ctx context.Context, listening []string, spoolDir, pidFile string, log *slog.Logger) (done func(), err error) {
	if pidFile != "" {
		if err := writePidFile(pidFile); err != nil {
			return nil, err
		}
	}
	status := fmt.Sprintf("STATUS=listening on %s, spool %s", strings.Join(listening, " "), spoolDir)
	notify(sdnotify.Ready+"\n"+status, log)
	stopped, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		select {
		case <-ctx.Done():
		case <-stopped:
		}
		// Also when the agent stopped before this goroutine saw ctx end.
		if ctx.Err() != nil {
			notify(sdnotify.Stopping+"\nSTATUS=stopping: sealing the open window, one last upload round", log)
		}
	}()
	return func() {
		close(stopped)
		<-finished
		if pidFile != "" {
			os.Remove(pidFile)
		}
	}, nil
}

// notifyReload tells systemd a reload started (RELOADING=1 with
// MONOTONIC_USEC), and that it is done (READY=1, applied or rejected: the
// agent runs on either way), with the outcome as STATUS.
func notifyReload(done bool, err error, listening []string, log *slog.Logger) {
	if !done {
		notify(sdnotify.ReloadingNow()+"\nSTATUS=reloading the configuration", log)
		return
	}
	status := "STATUS=configuration reloaded; listening on " + strings.Join(listening, " ")
	if err != nil {
		status = "STATUS=configuration rejected, the running one stays: " + strings.ReplaceAll(err.Error(), "\n", "; ")
	}
	notify(sdnotify.Ready+"\n"+status, log)
}

// notify sends state to the service manager, if one listens; a failure
// is logged, never fatal: the agent works without it.
func notify(state string, log *slog.Logger) {
	if _, err := sdnotify.Notify(state); err != nil {
		log.Warn("service manager notification failed", "state", strings.SplitN(state, "\n", 2)[0], "err", err)
	}
}

// writePidFile writes this process's pid to path, whole or not at all.
func writePidFile(path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return fmt.Errorf("pid file: %w", err)
	}
	_, err = tmp.WriteString(strconv.Itoa(os.Getpid()) + "\n")
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("pid file %s: %w", path, err)
	}
	return nil
}
