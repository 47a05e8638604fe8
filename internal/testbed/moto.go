package testbed

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// RequireMoto starts moto's server mode (python3 -m moto.server, or the
// Python TESTBED_MOTO_PYTHON names) on a free
// loopback port for the test and returns its endpoint,
// http://127.0.0.1:PORT; it answers the ELB API (CreateLoadBalancer,
// Modify/DescribeLoadBalancerAttributes). The server is stopped when t
// ends. Without python3 or moto the test is skipped, or fails when
// ELB_TEST_DISALLOW_SKIP is set: moto cannot be installed from here (no
// pip registry), it must be on the machine.
func RequireMoto(t testing.TB) string {
	t.Helper()
	name := os.Getenv("TESTBED_MOTO_PYTHON")
	if name == "" {
		name = "python3"
	}
	py, err := exec.LookPath(name)
	if err != nil {
		Skip(t, name+" not found: moto's server is needed for the ELB API (TESTBED_MOTO_PYTHON names the Python that has moto)")
	}
	if out, err := exec.Command(py, "-c", "import moto.server").CombinedOutput(); err != nil {
		Skip(t, fmt.Sprintf("%s cannot import moto.server (moto 5 with its server extra is needed for the ELB API; TESTBED_MOTO_PYTHON names the Python that has it): %v: %s", py, err, out))
	}
	port := freeTCPPort(t)
	logPath := filepath.Join(t.TempDir(), "moto.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-c", motoMain, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, killed at cleanup. (Not Pdeathsig: it fires
	// when the thread that started the child exits, which the Go runtime
	// may do while the test runs.)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start moto: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		logf.Close()
	})
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(endpoint + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return endpoint
			}
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(logPath)
			t.Fatalf("moto exited before answering: %s", log)
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logPath)
			t.Fatalf("moto did not answer on %s within 30s: %v; log: %s", endpoint, err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// motoMain runs moto's server (python3 -m moto.server ARGS) and exits when
// its parent, the test binary, is gone: a test that panics skips its
// cleanup, and moto must not outlive it.
const motoMain = `
import os, sys, threading, time
parent = os.getppid()
def watch():
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)
threading.Thread(target=watch, daemon=True).start()
from moto.server import main
main(sys.argv[1:])
`

// freeTCPPort returns a loopback TCP port that was free a moment ago.
func freeTCPPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
