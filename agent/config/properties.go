package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// property is one key = value entry of a property file, with the line it
// starts on.
type property struct {
	key, value string
	line       int
}

// syntaxError is a property file line that cannot be read.
type syntaxError struct {
	line int
	msg  string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

// readProperties reads Java properties syntax (java.util.Properties.load)
// and reports the line each entry starts on, which magiconair/properties
// does not expose (it only numbers its own syntax errors). Supported:
// comment lines starting with '#' or '!', blank lines, '=', ':' or
// whitespace between key and value, a backslash at the end of a line
// continuing it on the next (leading whitespace of the next line dropped),
// and the escapes \t \n \r \f \uXXXX and \<char>. Unlike magiconair it does
// not expand ${references}, so a value is exactly what the operator wrote.
// A malformed \u escape is an error, as in Java.
func readProperties(data string) ([]property, error) {
	lines := strings.Split(strings.ReplaceAll(data, "\r\n", "\n"), "\n")
	var out []property
	for i := 0; i < len(lines); i++ {
		start := i + 1
		logical := strings.TrimLeft(lines[i], " \t\f")
		if logical == "" || logical[0] == '#' || logical[0] == '!' {
			continue
		}
		for endsWithContinuation(logical) && i+1 < len(lines) {
			i++
			logical = logical[:len(logical)-1] + strings.TrimLeft(lines[i], " \t\f")
		}
		if endsWithContinuation(logical) { // continuation at end of file
			logical = logical[:len(logical)-1]
		}
		rawKey, rawValue := splitKeyValue(logical)
		key, err := unescapeProperty(rawKey)
		if err != nil {
			if s := secretPrefix(rawKey); s != "" {
				return nil, &syntaxError{start, s + "...: malformed \\u escape (the rest of the line is not shown: it may hold a secret)"}
			}
			return nil, &syntaxError{start, err.Error()}
		}
		value, err := unescapeProperty(rawValue)
		if err != nil {
			if s := secretPrefix(key); s != "" {
				return nil, &syntaxError{start, s + "...: malformed \\u escape (the rest of the line is not shown: it may hold a secret)"}
			}
			if secretKeys[key] {
				err = errors.New("malformed \\u escape (value not shown: it is a secret)")
			}
			return nil, &syntaxError{start, fmt.Sprintf("%s: %v", key, err)}
		}
		out = append(out, property{key: key, value: value, line: start})
	}
	return out, nil
}

// endsWithContinuation reports whether s ends in an odd number of
// backslashes.
func endsWithContinuation(s string) bool {
	n := 0
	for i := len(s) - 1; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

// splitKeyValue splits a logical line at the first unescaped '=', ':' or
// whitespace; whitespace around the separator is dropped.
func splitKeyValue(s string) (key, value string) {
	i := 0
	for i < len(s) {
		c := s[i]
		if c == '\\' {
			i += 2
			continue
		}
		if c == '=' || c == ':' || c == ' ' || c == '\t' || c == '\f' {
			break
		}
		i++
	}
	if i > len(s) {
		i = len(s)
	}
	key, rest := s[:i], s[i:]
	rest = strings.TrimLeft(rest, " \t\f")
	if rest != "" && (rest[0] == '=' || rest[0] == ':') {
		rest = strings.TrimLeft(rest[1:], " \t\f")
	}
	return key, rest
}

// unescapeProperty resolves the backslash escapes of Java properties.
func unescapeProperty(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(s) {
			break
		}
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			if i+5 > len(s) {
				return "", fmt.Errorf("malformed \\u escape %q: want four hex digits", s[i-1:])
			}
			n, err := strconv.ParseUint(s[i+1:i+5], 16, 16)
			if err != nil {
				return "", fmt.Errorf("malformed \\u escape %q: want four hex digits", s[i-1:i+5])
			}
			b.WriteRune(rune(n))
			i += 4
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String(), nil
}
