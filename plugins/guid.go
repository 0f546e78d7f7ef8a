package plugins

import (
	"fmt"
	"strings"
)

// NormalizeGUID builds the source:id form of an external id: the source is
// trimmed and lower-cased, the id trimmed. It answers false when either is
// empty or the source holds characters other than a-z, 0-9, '_' and '-'.
func NormalizeGUID(source, id string) (string, bool) {
	source = strings.ToLower(strings.TrimSpace(source))
	id = strings.TrimSpace(id)
	if id == "" || !validSource(source) {
		return "", false
	}
	return source + ":" + id, true
}

// SplitGUID splits a normalised GUID into source and id.
func SplitGUID(guid string) (source, id string, ok bool) {
	source, id, ok = strings.Cut(guid, ":")
	if !ok || id == "" || !validSource(source) {
		return "", "", false
	}
	return source, id, true
}

// CheckGUID explains why guid is not in normalised source:id form, or
// answers nil.
func CheckGUID(guid string) error {
	source, id, ok := strings.Cut(guid, ":")
	switch {
	case !ok:
		return fmt.Errorf("guid %q has no ':' between source and id", guid)
	case source == "":
		return fmt.Errorf("guid %q has an empty source", guid)
	case id == "":
		return fmt.Errorf("guid %q has an empty id", guid)
	case strings.TrimSpace(id) != id:
		return fmt.Errorf("guid %q has spaces around its id", guid)
	case !validSource(source):
		return fmt.Errorf("guid %q: source must be lower-case letters, digits, '_' or '-' (NormalizeGUID does this)", guid)
	}
	return nil
}

func validSource(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}
