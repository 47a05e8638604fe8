package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// servoConf is the k=v file the Eucalyptus load balancer's user data
// writes (/etc/load-balancer-servo/servo.conf), with the line of each key.
type servoConf map[string]servoValue

type servoValue struct {
	value string
	line  int
}

// readServoConf parses servo.conf: one k=v per line, '#' comments and
// blank lines ignored, whitespace around key and value dropped and one
// pair of surrounding quotes removed. Unknown keys are ignored (the file
// carries many settings of other servo parts, and the cloud writes it):
// so is a line without '=' (or with an empty key), with a warning naming
// file and line, which the caller passes on (Config.Warnings).
func readServoConf(path string) (servoConf, []string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	out := servoConf{}
	var warnings []string
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			// Not shown: the cloud may write secrets into this file.
			warnings = append(warnings, fmt.Sprintf("%s:%d: not a k=v line (%d bytes); ignored", path, i+1, len(line)))
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		out[k] = servoValue{v, i + 1}
	}
	return out, warnings, nil
}

// applyServoConf fills the keys of servoKeys from servo.conf where the
// property file left them out. A missing servo.conf is fine unless the
// property file named it (required).
func (c *Config) applyServoConf(required bool) []error {
	path := c.ServoConf
	if path == "" {
		return nil
	}
	sc, warnings, err := readServoConf(path)
	c.warnings = append(c.warnings, warnings...)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && !required {
			return nil
		}
		var ce *ConfigError
		if errors.As(err, &ce) {
			return []error{ce}
		}
		o := c.origins["objectstorage.servo_conf"]
		return []error{&ConfigError{o.File, o.Line, "objectstorage.servo_conf", err}}
	}
	var errs []error
	for _, m := range servoKeys {
		sv, ok := sc[m.servo]
		if !ok || sv.value == "" || c.origins[m.key].Source != SourceDefault {
			continue
		}
		v, err := sv.value, error(nil)
		if m.convert != nil {
			v, err = m.convert(v, sc)
		}
		if err == nil {
			err = c.setFrom(m.key, v, Origin{SourceServo, path, sv.line})
		}
		if err != nil {
			errs = append(errs, &ConfigError{path, sv.line, m.servo, err})
		}
	}
	return errs
}

// servoKeys map servo.conf keys to the property they fill in when the
// property file leaves it out; convert, when set, turns the servo value
// into the property's.
var servoKeys = []struct {
	servo, key string
	convert    func(v string, sc servoConf) (string, error)
}{
	{"objectstorage_service_url", "objectstorage.endpoint", func(v string, sc servoConf) (string, error) {
		return servoEndpoint(v, sc["webservice_port"].value)
	}},
	{"loadbalancer_owner_account", "access_log.owner_account", nil},
	{"elb_service_url", "elb.endpoint", func(v string, sc servoConf) (string, error) {
		return servoServiceURL(v, sc["webservice_port"].value, "/services/LoadBalancing")
	}},
}

// servoEndpoint turns servo.conf's objectstorage_service_url into a store
// endpoint. A full URL is taken as it is. A bare host (or host:port), as
// older user data wrote it, becomes
// http://HOST:PORT/services/objectstorage with PORT from webservice_port,
// else 8773, the Eucalyptus web-service port.
func servoEndpoint(v, port string) (string, error) {
	return servoServiceURL(v, port, "/services/objectstorage")
}

// servoServiceURL turns a servo.conf service URL into an endpoint: a full
// URL as it is, a bare host (or host:port) as http://HOST:PORT+path.
func servoServiceURL(v, port, path string) (string, error) {
	if strings.Contains(v, "://") {
		return v, nil
	}
	host := strings.TrimSuffix(v, "/")
	if _, _, err := net.SplitHostPort(host); err != nil {
		if port == "" {
			port = "8773"
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("webservice_port %q is not a port number", port)
		}
		host = net.JoinHostPort(host, port)
	}
	return "http://" + host + path, nil
}
