package fakeserver

import (
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"
)

// Item ids. Jellyfin writes Guids as 32 lowercase hex digits without dashes ("N" format,
// JsonGuidConverter) [src]; Emby uses numeric strings ("240270") [obs]. Neither is stored:
// a Jellyfin id carries its index in the last four bytes (masked) behind twelve hash bytes,
// so parsing recovers the index and re-deriving the id proves it genuine. Emby ids are a
// per-seed base plus the index, like Emby's own incrementing integers.

func (s *Server) itemID(idx int32) string {
	if s.cfg.Flavor == Emby {
		return strconv.FormatInt(s.embyIDBase+int64(idx), 10)
	}
	var b [16]byte
	h1, h2 := s.hash(saltItem+2, int64(idx)), s.hash(saltItem+3, int64(idx))
	binary.LittleEndian.PutUint64(b[0:8], h1)
	binary.LittleEndian.PutUint32(b[8:12], uint32(h2))
	binary.BigEndian.PutUint32(b[12:16], uint32(idx)*idMul^s.idMask)
	return hex.EncodeToString(b[:])
}

// idMul scrambles the index so consecutive items do not share a visible tail; idMulInv
// undoes it (odd numbers are invertible modulo 2^32).
const idMul uint32 = 0x9e3779b1

var idMulInv = func() uint32 {
	x := idMul // Newton's iteration doubles the correct low bits each step
	for i := 0; i < 5; i++ {
		x *= 2 - idMul*x
	}
	return x
}()

// parseItemID maps an id from a request to an index. ok is false for ids that are
// well-formed but unknown; wellFormed is false for input the server could not even bind
// (Jellyfin answers 400 for a non-Guid route value).
func (s *Server) parseItemID(id string) (idx int32, ok, wellFormed bool) {
	if s.cfg.Flavor == Emby {
		n, err := strconv.ParseInt(strings.TrimSpace(id), 10, 64)
		if err != nil {
			return 0, false, false
		}
		n -= s.embyIDBase
		if n < 0 || n >= int64(s.itemCount()) {
			return 0, false, true
		}
		return int32(n), true, true
	}
	g, good := normalizeGUID(id)
	if !good {
		return 0, false, false
	}
	b, _ := hex.DecodeString(g)
	n := (binary.BigEndian.Uint32(b[12:16]) ^ s.idMask) * idMulInv
	if int64(n) >= int64(s.itemCount()) {
		return 0, false, true
	}
	if s.itemID(int32(n)) != g {
		return 0, false, true
	}
	return int32(n), true, true
}

// normalizeGUID accepts the forms .NET's Guid parser does for route and query values
// ("N", "D" with dashes, "B" with braces), case-insensitively, and returns the "N" form.
func normalizeGUID(s string) (string, bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	if len(s) == 36 {
		if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
			return "", false
		}
		s = s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	}
	s = strings.ToLower(s)
	if !isHex32(s) {
		return "", false
	}
	return s, true
}

func isHex32(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

const zeroGUID = "00000000000000000000000000000000"

// userIndex finds a user by id in any Guid form. -1 when unknown.
func (s *Server) userIndex(id string) int {
	g, ok := normalizeGUID(id)
	if !ok {
		return -1
	}
	for i, u := range s.users {
		if u.ID == g {
			return i
		}
	}
	return -1
}

func (s *Server) userByName(name string) int {
	for i, u := range s.users {
		if strings.EqualFold(u.Name, name) {
			return i
		}
	}
	return -1
}
