package plugins

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pb "github.com/keepwatch/keepwatch/plugins/internal/backendv1"
)

// appendImportPageFromWire converts a page back, restoring what
// importPageToWire factored out.
func appendImportPageFromWire(dst []Observation, page *pb.ImportPage) []Observation {
	start := len(dst)
	dst = appendObservationsFromWire(dst, page.GetObservations())
	added := dst[start:]
	if acct := page.GetPageAccount(); acct != nil {
		for i := range added {
			added[i].AccountID, added[i].AccountName = acct.GetId(), acct.GetName()
		}
	}
	if libs := page.GetLibraries(); len(libs) > 0 {
		names := make(map[string]string, len(libs))
		for _, l := range libs {
			names[l.GetId()] = l.GetName()
		}
		for i := range added {
			if added[i].LibraryName == "" {
				added[i].LibraryName = names[added[i].LibraryID]
			}
		}
	}
	return dst
}

var (
	equalTimes = cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })
	when       = time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("X", -7*3600))
)

// full sets every field, with values that exercise the encodings: negative
// int32 (ten-byte varints), negative times (zigzag), non-ASCII strings.
func full(item string) Observation {
	return Observation{
		AccountID: "1", AccountName: "Zoë", ItemID: item, LibraryID: "7", LibraryName: "Films",
		Kind: KindEpisode, Title: "Ép. " + item, Year: -1, GUIDs: []string{"tvdb:1", "imdb:tt2"},
		ShowID: "s", ShowTitle: "Show", ShowGUIDs: []string{"tvdb:3"}, Season: 2, Episode: -3,
		Duration: 42*time.Minute + 7, Event: "media.stop",
		State: State{
			WatchedKnown: true, Watched: true, PlayedAt: when, ProgressKnown: true, Progress: time.Second,
			EventAt: time.Date(1901, 1, 1, 0, 0, 0, 1, time.UTC), InferCompletion: true, Playing: true, PlayCount: -2,
		},
	}
}

func pages() map[string][]Observation {
	other := full("b")
	other.AccountID, other.AccountName = "2", "bob"
	renamed := full("c")
	renamed.LibraryName = "Movies"
	unnamed := full("d")
	unnamed.LibraryID, unnamed.LibraryName = "8", ""
	zero := Observation{ItemID: "z"}
	return map[string][]Observation{
		"one":                   {full("a")},
		"shared account":        {full("a"), full("b"), full("c")},
		"mixed accounts":        {full("a"), other},
		"conflicting libraries": {full("a"), renamed, unnamed},
		"zero values":           {zero, full("a")},
	}
}

func TestPageCodecMatchesProto(t *testing.T) {
	for name, obs := range pages() {
		t.Run(name, func(t *testing.T) {
			want, err := proto.MarshalOptions{Deterministic: true}.Marshal(importPageToWire(obs))
			if err != nil {
				t.Fatal(err)
			}
			got := appendImportPage(nil, obs)
			if !bytes.Equal(got, want) {
				t.Errorf("hand encoding differs from the generated code:\nhand  %x\nproto %x", got, want)
			}

			decoded, err := decodeImportPage(nil, want)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(obs, decoded, equalTimes, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("hand decoding (-sent +received):\n%s", diff)
			}

			var msg pb.ImportPage
			if err := proto.Unmarshal(got, &msg); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(obs, appendImportPageFromWire(nil, &msg), equalTimes, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("generated decoding of the hand encoding (-sent +received):\n%s", diff)
			}
		})
	}
}

// TestPageCodecCoversEveryField fails when backend.proto gains an
// Observation field the hand encoder does not write.
func TestPageCodecCoversEveryField(t *testing.T) {
	b := full("a")
	b.AccountID = "2" // mixed accounts and conflicting library names: nothing is factored out
	b.LibraryName = "Other"
	var msg pb.ImportPage
	if err := proto.Unmarshal(appendImportPage(nil, []Observation{full("a"), b}), &msg); err != nil {
		t.Fatal(err)
	}
	m := msg.GetObservations()[0].ProtoReflect()
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		if fd := fields.Get(i); !m.Has(fd) {
			t.Errorf("Observation field %s (%d) is not written by appendObservation", fd.Name(), fd.Number())
		}
	}

	shared, err := proto.Marshal(importPageToWire([]Observation{full("a")}))
	if err != nil {
		t.Fatal(err)
	}
	var page pb.ImportPage
	if err := proto.Unmarshal(shared, &page); err != nil {
		t.Fatal(err)
	}
	p := page.ProtoReflect()
	pf := p.Descriptor().Fields()
	for i := 0; i < pf.Len(); i++ {
		if fd := pf.Get(i); !p.Has(fd) {
			t.Errorf("ImportPage field %s (%d) is not written", fd.Name(), fd.Number())
		}
	}
}

func TestDecodeSkipsUnknownFields(t *testing.T) {
	obs := []Observation{full("a")}
	enc := appendImportPage(nil, obs)
	// A newer plugin's fields, of every wire type, in the page and inside
	// an observation.
	var extra []byte
	extra = protowire.AppendTag(extra, 99, protowire.VarintType)
	extra = protowire.AppendVarint(extra, 5)
	extra = protowire.AppendTag(extra, 98, protowire.Fixed32Type)
	extra = protowire.AppendFixed32(extra, 5)
	extra = protowire.AppendTag(extra, 97, protowire.Fixed64Type)
	extra = protowire.AppendFixed64(extra, 5)
	extra = protowire.AppendTag(extra, 96, protowire.BytesType)
	extra = protowire.AppendString(extra, "new")
	inner := appendObservation(nil, &obs[0], &pageShared{})
	inner = append(inner, extra...)
	var page []byte
	page = protowire.AppendTag(page, pageObservations, protowire.BytesType)
	page = protowire.AppendBytes(page, inner)
	page = append(page, extra...)
	got, err := decodeImportPage(nil, append(page, enc...))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(append(obs, obs...), got, equalTimes); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestDecodeRejectsTruncatedPages(t *testing.T) {
	enc := appendImportPage(nil, []Observation{full("a"), full("b")})
	for cut := 1; cut < len(enc); cut++ {
		// Some prefixes end on a field boundary and decode to fewer
		// observations; none may panic, and an error names the page.
		if _, err := decodeImportPage(nil, enc[:cut]); err != nil && !bytes.Contains([]byte(err.Error()), []byte("malformed import page")) {
			t.Fatalf("cut at %d: %v", cut, err)
		}
	}
}

func TestDecodedGUIDsDoNotAlias(t *testing.T) {
	got, err := decodeImportPage(nil, appendImportPage(nil, []Observation{full("a"), full("b")}))
	if err != nil {
		t.Fatal(err)
	}
	_ = append(got[0].GUIDs, "extra:1")
	if diff := cmp.Diff([]string{"tvdb:3"}, got[0].ShowGUIDs); diff != "" {
		t.Errorf("appending to one field's GUIDs changed another's (-want +got):\n%s", diff)
	}
}

func FuzzDecodeImportPage(f *testing.F) {
	for _, obs := range pages() {
		f.Add(appendImportPage(nil, obs))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeImportPage(nil, data)
		if err != nil {
			return
		}
		// Whatever decodes must survive a round trip.
		again, err := decodeImportPage(nil, appendImportPage(nil, got))
		if err != nil {
			t.Fatalf("re-decoding: %v", err)
		}
		if diff := cmp.Diff(got, again, equalTimes, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("round trip (-first +second):\n%s", diff)
		}
	})
}
