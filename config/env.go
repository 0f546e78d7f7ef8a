package config

import (
	"fmt"
	"strings"
)

// expand replaces ${NAME} in s with the environment variable NAME. "$${" is a
// literal "${"; any other "$" is kept as is, so a password holding "$" needs no
// escape. An unset variable is an error naming it (a set but empty one expands
// to ""). Expansion runs on parsed scalar values, never on the raw file, so a
// value holding YAML syntax cannot change the file's structure.
func expand(s string, lookup func(string) (string, bool)) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	var unset []string
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			b.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", fmt.Errorf("unterminated ${ (close it with }, or write $${ for a literal ${)")
			}
			name := s[i+2 : i+2+end]
			if !validEnvName(name) {
				return "", fmt.Errorf("%q is not an environment variable name (use letters, digits and _, like ${PLEX_TOKEN}; write $${ for a literal ${)", "${"+name+"}")
			}
			v, ok := lookup(name)
			if !ok {
				unset = append(unset, name)
			}
			b.WriteString(v)
			i += 2 + end + 1
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	switch len(unset) {
	case 0:
		return b.String(), nil
	case 1:
		return "", fmt.Errorf("environment variable %s is not set (set it before starting keepwatch, or write $${ for a literal ${)", unset[0])
	default:
		return "", fmt.Errorf("environment variables %s are not set (set them before starting keepwatch, or write $${ for a literal ${)", strings.Join(unset, ", "))
	}
}

func validEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
