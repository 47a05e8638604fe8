package ingest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
)

func TestUDPDrops(t *testing.T) {
	const table = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  412: 0100007F:0202 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 123456 2 0000000000000000 0
  413: 0100007F:0203 00000000:0000 07 00000000:00000A00 00:00000000 00000000     0        0 777 2 0000000000000000 42
`
	const table6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
 1250: 00000000000000000000000001000000:0202 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 555 2 0000000000000000 7
`
	write := func(t *testing.T, files map[string]string) string {
		dir := filepath.Join(t.TempDir(), "net")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, body := range files {
			testbed.WriteFile(t, dir, name, body)
		}
		return dir
	}
	tests := []struct {
		name    string
		files   map[string]string
		inode   uint64
		drops   uint64
		found   bool
		wantErr string
	}{
		{"no drops", map[string]string{"udp": table, "udp6": table6}, 123456, 0, true, ""},
		{"drops", map[string]string{"udp": table, "udp6": table6}, 777, 42, true, ""},
		{"in udp6", map[string]string{"udp": table, "udp6": table6}, 555, 7, true, ""},
		{"no IPv6 table", map[string]string{"udp": table}, 777, 42, true, ""},
		{"absent", map[string]string{"udp": table, "udp6": table6}, 999, 0, false, ""},
		{"bad column", map[string]string{"udp": strings.Replace(table, " 42\n", " many\n", 1)}, 777, 0, false, "net/udp"},
		{"no udp table", map[string]string{}, 777, 0, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, found, err := udpDrops(write(t, tt.files), tt.inode)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err: got %v, want one naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || d != tt.drops || found != tt.found {
				t.Errorf("got %d %v %v, want %d %v", d, found, err, tt.drops, tt.found)
			}
		})
	}
}

func TestHAProxyDroppedLogs(t *testing.T) {
	tests := []struct {
		name, info string
		want       int64
		wantErr    string
	}{
		{"present", "Name: HAProxy\nVersion: 2.6.12\nDroppedLogs: 17\nBusyPolling: 0\n\n", 17, ""},
		{"absent", "Name: HAProxy\n\n", 0, "show info has no DroppedLogs"},
		{"garbage", "DroppedLogs: lots\n", 0, `DroppedLogs "lots" is not a count`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := testbed.FakeHAProxy(t, func() string { return tt.info })
			got, err := haproxyDroppedLogs(context.Background(), path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path) {
					t.Fatalf("err: got %v, want it to name %s and say %q", err, path, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %d, %v; want %d", got, err, tt.want)
			}
		})
	}
	if _, err := haproxyDroppedLogs(context.Background(), filepath.Join(t.TempDir(), "none.sock")); err == nil {
		t.Error("missing socket: got no error")
	}
}
