package plugins

import (
	"errors"
	"fmt"
	"time"
	"unsafe"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/proto" // registers the "proto" codec wireCodec delegates to
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"

	pb "github.com/keepwatch/keepwatch/plugins/internal/backendv1"
)

// Import pages are the one hot path of the plugin wire: a library import
// moves every observation through it. They travel in standard protobuf
// encoding (backendv1.ImportPage; any protobuf implementation reads and
// writes them), but this SDK encodes and decodes them by hand with
// protowire: no reflection, and on the host one string allocation per page
// instead of one per field. TestPageCodecMatchesProto holds the hand code to
// the generated code byte for byte, so a field added to backend.proto but
// not here fails the build's tests.

// rawPage is an encoded ImportPage that wireCodec passes through unchanged.
type rawPage struct{ b []byte }

// wireCodec is the standard proto codec except for *rawPage.
type wireCodec struct{}

func protoCodec() encoding.CodecV2 { return encoding.GetCodecV2("proto") }

func (wireCodec) Marshal(v any) (mem.BufferSlice, error) {
	if r, ok := v.(*rawPage); ok {
		return mem.BufferSlice{mem.SliceBuffer(r.b)}, nil
	}
	return protoCodec().Marshal(v)
}

func (wireCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if r, ok := v.(*rawPage); ok {
		r.b = data.Materialize()
		return nil
	}
	return protoCodec().Unmarshal(data, v)
}

// Name keeps the content type application/grpc+proto: on the wire nothing
// differs from the generated code.
func (wireCodec) Name() string { return "proto" }

// GRPCServerOptions are the options a gRPC server serving GRPCPluginV1
// needs: the page codec and message size limits. Serve and plugintest use
// them; a server without them cannot answer Import.
func GRPCServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ForceServerCodecV2(wireCodec{}),
		grpc.MaxRecvMsgSize(MaxMessageBytes),
		grpc.MaxSendMsgSize(MaxMessageBytes),
	}
}

// Field numbers of backend.proto.
const (
	pageObservations = 1
	pageAccount      = 2
	pageLibraries    = 3

	idField   = 1 // PageAccount.id, Library.id
	nameField = 2 // PageAccount.name, Library.name

	obsAccountID       = 1
	obsAccountName     = 2
	obsItemID          = 3
	obsLibraryID       = 4
	obsLibraryName     = 5
	obsKind            = 6
	obsTitle           = 7
	obsYear            = 8
	obsGUIDs           = 9
	obsShowID          = 10
	obsShowTitle       = 11
	obsShowGUIDs       = 12
	obsSeason          = 13
	obsEpisode         = 14
	obsDurationNs      = 15
	obsEvent           = 16
	obsWatchedKnown    = 20
	obsWatched         = 21
	obsPlayedAt        = 22
	obsProgressKnown   = 23
	obsProgressNs      = 24
	obsEventAt         = 25
	obsInferCompletion = 26
	obsPlaying         = 27
	obsPlayCount       = 28
)

// pageShared is what a page's observations share (see ImportPage in
// backend.proto): the account when all have the same, and the names of
// libraries whose observations all give the same non-empty name.
type pageShared struct {
	accountSet          bool
	accountID, accountN string
	libIDs              []string // in order of first appearance
	libNames            map[string]string
}

func sharedOf(obs []Observation) pageShared {
	var s pageShared
	if len(obs) == 0 {
		return s
	}
	s.accountSet = true
	s.accountID, s.accountN = obs[0].AccountID, obs[0].AccountName
	s.libNames = map[string]string{}
	conflict := map[string]bool{}
	for i := range obs {
		o := &obs[i]
		if o.AccountID != s.accountID || o.AccountName != s.accountN {
			s.accountSet = false
		}
		name, seen := s.libNames[o.LibraryID]
		switch {
		case !seen:
			s.libNames[o.LibraryID] = o.LibraryName
			s.libIDs = append(s.libIDs, o.LibraryID)
		case name != o.LibraryName:
			conflict[o.LibraryID] = true
		}
	}
	ids := s.libIDs[:0]
	for _, id := range s.libIDs {
		if conflict[id] || s.libNames[id] == "" {
			delete(s.libNames, id)
			continue
		}
		ids = append(ids, id)
	}
	s.libIDs = ids
	return s
}

func appendStringField(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendBoolField(b []byte, num protowire.Number, v bool) []byte {
	if !v {
		return b
	}
	return appendVarintField(b, num, 1)
}

// int32 and int64 fields are varints of the two's complement (negative
// int32 values sign-extend to ten bytes); sint64 fields are zigzag.
func appendInt32Field(b []byte, num protowire.Number, v int) []byte {
	return appendVarintField(b, num, uint64(int64(int32(v))))
}

func appendSint64Field(b []byte, num protowire.Number, v int64) []byte {
	return appendVarintField(b, num, protowire.EncodeZigZag(v))
}

// appendImportPage encodes obs as an ImportPage, exactly as proto.Marshal
// (deterministic) encodes importPageToWire(obs).
func appendImportPage(b []byte, obs []Observation) []byte {
	shared := sharedOf(obs)
	var scratch []byte
	for i := range obs {
		scratch = appendObservation(scratch[:0], &obs[i], &shared)
		b = protowire.AppendTag(b, pageObservations, protowire.BytesType)
		b = protowire.AppendBytes(b, scratch)
	}
	if shared.accountSet {
		scratch = appendStringField(scratch[:0], idField, shared.accountID)
		scratch = appendStringField(scratch, nameField, shared.accountN)
		b = protowire.AppendTag(b, pageAccount, protowire.BytesType)
		b = protowire.AppendBytes(b, scratch)
	}
	for _, id := range shared.libIDs {
		scratch = appendStringField(scratch[:0], idField, id)
		scratch = appendStringField(scratch, nameField, shared.libNames[id])
		b = protowire.AppendTag(b, pageLibraries, protowire.BytesType)
		b = protowire.AppendBytes(b, scratch)
	}
	return b
}

func appendObservation(b []byte, o *Observation, shared *pageShared) []byte {
	if !shared.accountSet {
		b = appendStringField(b, obsAccountID, o.AccountID)
		b = appendStringField(b, obsAccountName, o.AccountName)
	}
	b = appendStringField(b, obsItemID, o.ItemID)
	b = appendStringField(b, obsLibraryID, o.LibraryID)
	if _, inTable := shared.libNames[o.LibraryID]; !inTable {
		b = appendStringField(b, obsLibraryName, o.LibraryName)
	}
	b = appendVarintField(b, obsKind, uint64(kindToWire(o.Kind)))
	b = appendStringField(b, obsTitle, o.Title)
	b = appendInt32Field(b, obsYear, o.Year)
	for _, g := range o.GUIDs {
		b = protowire.AppendTag(b, obsGUIDs, protowire.BytesType)
		b = protowire.AppendString(b, g)
	}
	b = appendStringField(b, obsShowID, o.ShowID)
	b = appendStringField(b, obsShowTitle, o.ShowTitle)
	for _, g := range o.ShowGUIDs {
		b = protowire.AppendTag(b, obsShowGUIDs, protowire.BytesType)
		b = protowire.AppendString(b, g)
	}
	b = appendInt32Field(b, obsSeason, o.Season)
	b = appendInt32Field(b, obsEpisode, o.Episode)
	b = appendVarintField(b, obsDurationNs, uint64(int64(o.Duration)))
	b = appendStringField(b, obsEvent, o.Event)
	s := &o.State
	b = appendBoolField(b, obsWatchedKnown, s.WatchedKnown)
	b = appendBoolField(b, obsWatched, s.Watched)
	b = appendSint64Field(b, obsPlayedAt, timeToWire(s.PlayedAt))
	b = appendBoolField(b, obsProgressKnown, s.ProgressKnown)
	b = appendVarintField(b, obsProgressNs, uint64(int64(s.Progress)))
	b = appendSint64Field(b, obsEventAt, timeToWire(s.EventAt))
	b = appendBoolField(b, obsInferCompletion, s.InferCompletion)
	b = appendBoolField(b, obsPlaying, s.Playing)
	b = appendInt32Field(b, obsPlayCount, s.PlayCount)
	return b
}

var errMalformedPage = errors.New("malformed import page")

// pageDecoder reads fields out of an encoded message whose bytes are also
// held as one string, so that every string field is a substring of it.
type pageDecoder struct {
	buf []byte
	str string
}

// field reads the next field of b[off:] and answers its number, type, the
// varint value or the bounds of the bytes value, and the offset after it.
func (d *pageDecoder) field(off, end int) (num protowire.Number, typ protowire.Type, v uint64, lo, hi, next int, err error) {
	num, typ, n := protowire.ConsumeTag(d.buf[off:end])
	if n < 0 {
		return 0, 0, 0, 0, 0, 0, fmt.Errorf("%w: %v", errMalformedPage, protowire.ParseError(n))
	}
	off += n
	switch typ {
	case protowire.VarintType:
		v, n = protowire.ConsumeVarint(d.buf[off:end])
	case protowire.BytesType:
		var l uint64
		l, n = protowire.ConsumeVarint(d.buf[off:end])
		if n >= 0 {
			if l > uint64(end-off-n) {
				return 0, 0, 0, 0, 0, 0, fmt.Errorf("%w: field %d runs past its message", errMalformedPage, num)
			}
			lo, hi = off+n, off+n+int(l)
			n += int(l)
		}
	default:
		// A field a newer plugin added, of a type this host does not read
		// here: skip it.
		n = protowire.ConsumeFieldValue(num, typ, d.buf[off:end])
	}
	if n < 0 {
		return 0, 0, 0, 0, 0, 0, fmt.Errorf("%w: field %d: %v", errMalformedPage, num, protowire.ParseError(n))
	}
	return num, typ, v, lo, hi, off + n, nil
}

// decodeImportPage appends the observations of an encoded ImportPage to
// dst, restoring what the page factored out. Unknown fields are skipped, as
// any protobuf decoder would.
//
// The strings of the result share data's memory (one page is one
// allocation, not one per field), so data must never change afterwards: the
// client passes the private copy gRPC materialised for it.
func decodeImportPage(dst []Observation, data []byte) ([]Observation, error) {
	d := &pageDecoder{buf: data}
	if len(data) > 0 {
		d.str = unsafe.String(unsafe.SliceData(data), len(data))
	}
	start := len(dst)
	var (
		account          *[2]string
		libNames         map[string]string
		guids            = make([]string, 0, 256)
		off, end         = 0, len(data)
		num              protowire.Number
		typ              protowire.Type
		lo, hi           int
		err              error
		libID, libName   string
		accountID, accNm string
	)
	for off < end {
		num, typ, _, lo, hi, off, err = d.field(off, end)
		if err != nil {
			return dst, err
		}
		if typ != protowire.BytesType {
			continue
		}
		switch num {
		case pageObservations:
			var o Observation
			if guids, err = d.observation(&o, lo, hi, guids); err != nil {
				return dst, err
			}
			dst = append(dst, o)
		case pageAccount:
			if accountID, accNm, err = d.pair(lo, hi); err != nil {
				return dst, err
			}
			account = &[2]string{accountID, accNm}
		case pageLibraries:
			if libID, libName, err = d.pair(lo, hi); err != nil {
				return dst, err
			}
			if libNames == nil {
				libNames = map[string]string{}
			}
			libNames[libID] = libName
		}
	}
	for i := range dst[start:] {
		o := &dst[start+i]
		if account != nil {
			o.AccountID, o.AccountName = account[0], account[1]
		}
		if o.LibraryName == "" && libNames != nil {
			o.LibraryName = libNames[o.LibraryID]
		}
	}
	return dst, nil
}

// pair reads a message of two strings, id (1) and name (2).
func (d *pageDecoder) pair(off, end int) (id, name string, err error) {
	for off < end {
		num, typ, _, lo, hi, next, err := d.field(off, end)
		if err != nil {
			return "", "", err
		}
		off = next
		if typ != protowire.BytesType {
			continue
		}
		switch num {
		case idField:
			id = d.str[lo:hi]
		case nameField:
			name = d.str[lo:hi]
		}
	}
	return id, name, nil
}

// window is a repeated string field kept as a window of the page's slab.
type window struct {
	lo, hi int // slab bounds while the field's values are contiguous in it
	vals   []string
}

// add appends s. While the field's values arrive without other repeated
// values between them (always, from this SDK and from protobuf encoders),
// they share the slab; otherwise the field gets an array of its own.
func (w *window) add(slab []string, s string) []string {
	switch {
	case w.vals == nil:
		w.lo = len(slab)
		slab = append(slab, s)
		w.hi = len(slab)
		w.vals = slab[w.lo:w.hi:w.hi]
	case w.hi == len(slab) && w.lo >= 0:
		slab = append(slab, s)
		w.hi = len(slab)
		// The slab may have moved to a new array; the window follows it,
		// and the old one still holds the same values for earlier windows.
		w.vals = slab[w.lo:w.hi:w.hi]
	default:
		w.lo = -1
		w.vals = append(w.vals[:len(w.vals):len(w.vals)], s)
	}
	return slab
}

// observation decodes one Observation. GUIDs go into a slab shared by the
// page; each observation keeps a capacity-capped window of it, so an append
// by the consumer never writes into a neighbour's GUIDs.
func (d *pageDecoder) observation(o *Observation, off, end int, slab []string) ([]string, error) {
	var guids, showGUIDs window
	for off < end {
		num, typ, v, lo, hi, next, err := d.field(off, end)
		if err != nil {
			return slab, err
		}
		off = next
		if typ == protowire.BytesType {
			s := d.str[lo:hi]
			switch num {
			case obsAccountID:
				o.AccountID = s
			case obsAccountName:
				o.AccountName = s
			case obsItemID:
				o.ItemID = s
			case obsLibraryID:
				o.LibraryID = s
			case obsLibraryName:
				o.LibraryName = s
			case obsTitle:
				o.Title = s
			case obsGUIDs:
				slab = guids.add(slab, s)
			case obsShowID:
				o.ShowID = s
			case obsShowTitle:
				o.ShowTitle = s
			case obsShowGUIDs:
				slab = showGUIDs.add(slab, s)
			case obsEvent:
				o.Event = s
			}
			continue
		}
		if typ != protowire.VarintType {
			continue
		}
		switch num {
		case obsKind:
			o.Kind = kindFromWire(pb.ItemKind(int32(v)))
		case obsYear:
			o.Year = int(int32(v))
		case obsSeason:
			o.Season = int(int32(v))
		case obsEpisode:
			o.Episode = int(int32(v))
		case obsDurationNs:
			o.Duration = time.Duration(int64(v))
		case obsWatchedKnown:
			o.State.WatchedKnown = v != 0
		case obsWatched:
			o.State.Watched = v != 0
		case obsPlayedAt:
			o.State.PlayedAt = timeFromWire(protowire.DecodeZigZag(v))
		case obsProgressKnown:
			o.State.ProgressKnown = v != 0
		case obsProgressNs:
			o.State.Progress = time.Duration(int64(v))
		case obsEventAt:
			o.State.EventAt = timeFromWire(protowire.DecodeZigZag(v))
		case obsInferCompletion:
			o.State.InferCompletion = v != 0
		case obsPlaying:
			o.State.Playing = v != 0
		case obsPlayCount:
			o.State.PlayCount = int(int32(v))
		}
	}
	o.GUIDs, o.ShowGUIDs = guids.vals, showGUIDs.vals
	return slab, nil
}
