package config

import (
	"github.com/elb-access-logger/elb-access-logger/internal/testbed"

	"github.com/elb-access-logger/elb-access-logger/agent/identity"
	"reflect"
	"strings"
	"testing"
)

func TestReadProperties(t *testing.T) {
	tests := []struct {
		name, in string
		want     []property
	}{
		{"separators", "a=1\nb : 2\nc 3\nd\t=\t4\n", []property{{"a", "1", 1}, {"b", "2", 2}, {"c", "3", 3}, {"d", "4", 4}}},
		{"comments and blanks", "# x\n! y\n\n   \n  e = 5\n", []property{{"e", "5", 5}}},
		{"empty value", "f =\ng\n", []property{{"f", "", 1}, {"g", "", 2}}},
		{"continuation", "h = one, \\\n    two, \\\n  three\ni = 9\n", []property{{"h", "one, two, three", 1}, {"i", "9", 4}}},
		{"escaped backslash is no continuation", "j = c:\\\\\nk = 1\n", []property{{"j", `c:\`, 1}, {"k", "1", 2}}},
		{"escapes", `l = a\tb\u00e9\=\:x`, []property{{"l", "a\tbé=:x", 1}}},
		{"escaped separator in key", `m\=n\ o = p`, []property{{"m=n o", "p", 1}}},
		{"value keeps separators", "q = a=b:c d\n", []property{{"q", "a=b:c d", 1}}},
		{"crlf", "r = 1\r\ns = 2\r\n", []property{{"r", "1", 1}, {"s", "2", 2}}},
		{"continuation at eof", "t = 1\\", []property{{"t", "1", 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readProperties(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	if _, err := readProperties("a = \\u12"); err == nil || !strings.Contains(err.Error(), "line 1: a: malformed \\u escape") {
		t.Errorf("short \\u: got %v", err)
	}
}

func TestSuggestKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"access_log.emit_intervall", "access_log.emit_interval"},
		{"access_log.Format", "access_log.format"},
		{"lb_name", "access_log.lb_name"},
		{"spool.fsync-interval", "spool.fsync_interval"},
		{"metadata.endpont", "metadata.endpoint"},
		{"totally.different.thing", ""},
	}
	for _, tt := range tests {
		if got := suggestKey(tt.in); got != tt.want {
			t.Errorf("suggestKey(%q) got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestServoConfFallback(t *testing.T) {
	tests := []struct {
		name, servo, props string
		wantEndpoint       string
		wantOwner          string
		wantOrigin         Origin // of objectstorage.endpoint; File "" means not servo
	}{
		{"full url", "ntp_server=10.0.0.1\nobjectstorage_service_url=http://osg.example.com:8773/services/objectstorage\nloadbalancer_owner_account=123456789012\n", "",
			"http://osg.example.com:8773/services/objectstorage", "123456789012", Origin{SourceServo, "", 2}},
		{"bare host and port", "# user data\nobjectstorage_service_url = 10.1.1.1\nwebservice_port = 8080\n", "",
			"http://10.1.1.1:8080/services/objectstorage", "", Origin{SourceServo, "", 2}},
		{"bare host default port", "objectstorage_service_url=\"osg.example.com\"\n", "",
			"http://osg.example.com:8773/services/objectstorage", "", Origin{SourceServo, "", 1}},
		{"property file wins", "objectstorage_service_url=http://servo:1/x\nloadbalancer_owner_account=999999999999\n",
			"objectstorage.endpoint = http://props:2/y\naccess_log.owner_account = lbowner\n",
			"http://props:2/y", "lbowner", Origin{SourceFile, "", 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			servo := testbed.WriteFile(t, dir, "servo.conf", tt.servo)
			props := testbed.WriteFile(t, dir, "a.properties", "objectstorage.servo_conf = "+servo+"\n"+tt.props)
			c, err := LoadConfig(props, true)
			if err != nil {
				t.Fatal(err)
			}
			if c.StoreEndpoint != tt.wantEndpoint || c.OwnerAccount != tt.wantOwner {
				t.Errorf("got endpoint %q owner %q, want %q %q", c.StoreEndpoint, c.OwnerAccount, tt.wantEndpoint, tt.wantOwner)
			}
			want := tt.wantOrigin
			want.File = servo
			if want.Source == SourceFile {
				want.File = props
			}
			if got := c.origins["objectstorage.endpoint"]; got != want {
				t.Errorf("origin got %+v, want %+v", got, want)
			}
		})
	}
}

func TestServoConfErrors(t *testing.T) {
	tests := []struct{ name, servo, want string }{
		{"bad url", "objectstorage_service_url=ftp://osg/\n", `{servo}:1: objectstorage_service_url: "ftp://osg/" is not an http:// or https:// URL with a host`},
		{"bad port", "objectstorage_service_url=osg\nwebservice_port=http\n", `{servo}:1: objectstorage_service_url: webservice_port "http" is not a port number`},
		{"bad owner", "loadbalancer_owner_account=has space\n", `{servo}:1: loadbalancer_owner_account: "has space" is not an account id such as 123456789012`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			servo := testbed.WriteFile(t, dir, "servo.conf", tt.servo)
			props := testbed.WriteFile(t, dir, "a.properties", "objectstorage.servo_conf = "+servo+"\n")
			_, err := LoadConfig(props, true)
			want := strings.ReplaceAll(tt.want, "{servo}", servo)
			if err == nil || err.Error() != want {
				t.Errorf("got %v, want %s", err, want)
			}
		})
	}
}

// TestServoConfWarnings: a line of servo.conf that is no k=v line (the
// cloud writes the file, with keys we ignore) is skipped with a warning
// naming file and line, never its text; the rest of the file applies.
func TestServoConfWarnings(t *testing.T) {
	dir := t.TempDir()
	servo := testbed.WriteFile(t, dir, "servo.conf", "objectstorage_service_url=http://x:1/y\njust words\n=no key\nloadbalancer_owner_account=123456789012\n")
	props := testbed.WriteFile(t, dir, "a.properties", "objectstorage.servo_conf = "+servo+"\n")
	c, err := LoadConfig(props, true)
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if c.StoreEndpoint != "http://x:1/y" || c.OwnerAccount != "123456789012" {
		t.Errorf("servo.conf not applied: endpoint %q, owner %q", c.StoreEndpoint, c.OwnerAccount)
	}
	want := []string{servo + ":2: not a k=v line (10 bytes); ignored", servo + ":3: not a k=v line (7 bytes); ignored"}
	if got := c.Warnings(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n got %q\nwant %q", got, want)
	}
	if n := c.WithIdentity(identity.Identity{}).Warnings(); len(n) != 2 {
		t.Errorf("a copy lost its warnings: %q", n)
	}
}

func TestSettingsOrigins(t *testing.T) {
	dir := t.TempDir()
	servo := testbed.WriteFile(t, dir, "servo.conf", "loadbalancer_owner_account=123456789012\n")
	props := testbed.WriteFile(t, dir, "a.properties", "objectstorage.servo_conf = "+servo+"\n\nobjectstorage.access_key_id = AKID\nobjectstorage.secret_access_key = s3cr3t\n")
	c, err := LoadConfig(props, true)
	if err != nil {
		t.Fatal(err)
	}
	c = c.WithIdentity(identity.Identity{Account: "999999999999", LBName: "my-lb", PublicIPv4: "203.0.113.10"})
	got := map[string]Setting{}
	for _, s := range c.Settings() {
		got[s.Key] = s
	}
	if len(got) != len(Keys()) {
		t.Errorf("got %d settings, want one per key (%d)", len(got), len(Keys()))
	}
	tests := []struct {
		key, value string
		origin     Origin
	}{
		{"access_log.enabled", "true", Origin{Source: SourceDefault}},
		{"objectstorage.access_key_id", "AKID", Origin{SourceFile, props, 3}},
		{"objectstorage.secret_access_key", "********", Origin{SourceFile, props, 4}},
		{"access_log.owner_account", "123456789012", Origin{SourceServo, servo, 1}},
		{"access_log.lb_name", "my-lb", Origin{Source: SourceMetadata}},
		{"access_log.node_ip", "203.0.113.10", Origin{Source: SourceMetadata}},
		{"access_log.instance_id", "", Origin{Source: SourceDefault}},
	}
	for _, tt := range tests {
		s := got[tt.key]
		if s.Value != tt.value || s.Origin != tt.origin {
			t.Errorf("%s: got %q from %v, want %q from %v", tt.key, s.Value, s.Origin, tt.value, tt.origin)
		}
	}
	for _, s := range c.Settings() {
		if strings.Contains(s.Value, "s3cr3t") {
			t.Errorf("%s shows the secret", s.Key)
		}
	}
}

// FuzzReadProperties: no input makes the reader panic, and every entry it
// returns has a line within the input.
func FuzzReadProperties(f *testing.F) {
	for _, s := range []string{"a=1\n", "k \\\n  v", "x = \\u00e9\\", "#c\n!d\n e : f", "\\", "a\\=b c", "\\u12"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		props, err := readProperties(in)
		if err != nil {
			return
		}
		lines := strings.Count(in, "\n") + 1
		for _, p := range props {
			if p.line < 1 || p.line > lines {
				t.Errorf("entry %q on line %d of %d", p.key, p.line, lines)
			}
		}
	})
}
