package plugins

import (
	"net/http"
	"time"

	pb "github.com/keepwatch/keepwatch/plugins/internal/backendv1"
)

// Converters between the contract types and backendv1. Times travel as Unix
// nanoseconds with 0 for "unknown" (the zero time.Time), so the one instant
// 1970-01-01T00:00:00Z reads back as unknown; times come back in UTC.

func timeToWire(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func timeFromWire(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func kindToWire(k ItemKind) pb.ItemKind {
	switch k {
	case KindMovie:
		return pb.ItemKind_ITEM_KIND_MOVIE
	case KindEpisode:
		return pb.ItemKind_ITEM_KIND_EPISODE
	}
	return pb.ItemKind_ITEM_KIND_UNSPECIFIED
}

func kindFromWire(k pb.ItemKind) ItemKind {
	switch k {
	case pb.ItemKind_ITEM_KIND_MOVIE:
		return KindMovie
	case pb.ItemKind_ITEM_KIND_EPISODE:
		return KindEpisode
	}
	return ""
}

func descriptionToWire(d Description) *pb.DescribeResponse {
	caps := make([]string, len(d.Capabilities))
	for i, c := range d.Capabilities {
		caps[i] = string(c)
	}
	return &pb.DescribeResponse{
		Type: d.Type, Version: d.Version, DisplayName: d.DisplayName, Summary: d.Summary,
		Capabilities: caps,
	}
}

func descriptionFromWire(r *pb.DescribeResponse) Description {
	var caps []Capability
	for _, c := range r.GetCapabilities() {
		caps = append(caps, Capability(c))
	}
	return Description{
		Type: r.GetType(), Version: r.GetVersion(), DisplayName: r.GetDisplayName(), Summary: r.GetSummary(),
		Capabilities: caps,
	}
}

func configToWire(c Config) *pb.ConfigureRequest {
	return &pb.ConfigureRequest{Name: c.Name, Type: c.Type, Url: c.URL, Token: c.Token, Options: c.Options}
}

func configFromWire(r *pb.ConfigureRequest) Config {
	return Config{Name: r.GetName(), Type: r.GetType(), URL: r.GetUrl(), Token: r.GetToken(), Options: r.GetOptions()}
}

func healthToWire(h Health) *pb.CheckHealthResponse {
	return &pb.CheckHealthResponse{
		Reachable: h.Reachable, ServerId: h.ServerID, ServerName: h.ServerName,
		ServerVersion: h.ServerVersion, Detail: h.Detail,
	}
}

func healthFromWire(r *pb.CheckHealthResponse) Health {
	return Health{
		Reachable: r.GetReachable(), ServerID: r.GetServerId(), ServerName: r.GetServerName(),
		ServerVersion: r.GetServerVersion(), Detail: r.GetDetail(),
	}
}

func accountsToWire(as []Account) *pb.ListAccountsResponse {
	out := make([]*pb.Account, len(as))
	for i, a := range as {
		out[i] = &pb.Account{Id: a.ID, Name: a.Name, Admin: a.Admin}
	}
	return &pb.ListAccountsResponse{Accounts: out}
}

func accountsFromWire(r *pb.ListAccountsResponse) []Account {
	out := make([]Account, len(r.GetAccounts()))
	for i, a := range r.GetAccounts() {
		out[i] = Account{ID: a.GetId(), Name: a.GetName(), Admin: a.GetAdmin()}
	}
	return out
}

// observationsToWire converts a page. The messages are allocated in one
// slab rather than one allocation per observation: import pages are the hot
// path of the wire.
func observationsToWire(obs []Observation) []*pb.Observation {
	msgs := make([]pb.Observation, len(obs))
	out := make([]*pb.Observation, len(obs))
	for i := range obs {
		o := &obs[i]
		m := &msgs[i]
		m.AccountId = o.AccountID
		m.AccountName = o.AccountName
		m.ItemId = o.ItemID
		m.LibraryId = o.LibraryID
		m.LibraryName = o.LibraryName
		m.Kind = kindToWire(o.Kind)
		m.Title = o.Title
		m.Year = int32(o.Year)
		m.Guids = o.GUIDs
		m.ShowId = o.ShowID
		m.ShowTitle = o.ShowTitle
		m.ShowGuids = o.ShowGUIDs
		m.Season = int32(o.Season)
		m.Episode = int32(o.Episode)
		m.DurationNs = int64(o.Duration)
		m.Event = o.Event
		m.WatchedKnown = o.State.WatchedKnown
		m.Watched = o.State.Watched
		m.PlayedAtUnixNano = timeToWire(o.State.PlayedAt)
		m.ProgressKnown = o.State.ProgressKnown
		m.ProgressNs = int64(o.State.Progress)
		m.EventAtUnixNano = timeToWire(o.State.EventAt)
		m.InferCompletion = o.State.InferCompletion
		m.Playing = o.State.Playing
		m.PlayCount = int32(o.State.PlayCount)
		out[i] = m
	}
	return out
}

// appendObservationsFromWire appends the converted page to dst. Strings and
// GUID slices are taken over from the messages, which are not reused.
func appendObservationsFromWire(dst []Observation, msgs []*pb.Observation) []Observation {
	for _, m := range msgs {
		dst = append(dst, Observation{
			AccountID:   m.GetAccountId(),
			AccountName: m.GetAccountName(),
			ItemID:      m.GetItemId(),
			LibraryID:   m.GetLibraryId(),
			LibraryName: m.GetLibraryName(),
			Kind:        kindFromWire(m.GetKind()),
			Title:       m.GetTitle(),
			Year:        int(m.GetYear()),
			GUIDs:       m.GetGuids(),
			ShowID:      m.GetShowId(),
			ShowTitle:   m.GetShowTitle(),
			ShowGUIDs:   m.GetShowGuids(),
			Season:      int(m.GetSeason()),
			Episode:     int(m.GetEpisode()),
			Duration:    time.Duration(m.GetDurationNs()),
			Event:       m.GetEvent(),
			State: State{
				WatchedKnown:    m.GetWatchedKnown(),
				Watched:         m.GetWatched(),
				PlayedAt:        timeFromWire(m.GetPlayedAtUnixNano()),
				ProgressKnown:   m.GetProgressKnown(),
				Progress:        time.Duration(m.GetProgressNs()),
				EventAt:         timeFromWire(m.GetEventAtUnixNano()),
				InferCompletion: m.GetInferCompletion(),
				Playing:         m.GetPlaying(),
				PlayCount:       int(m.GetPlayCount()),
			},
		})
	}
	return dst
}

// importPageToWire converts a page with the generated types, factoring out
// what its observations share (see ImportPage in backend.proto). The wire
// uses the hand encoder appendImportPage; this is its reference, which the
// tests hold it to.
func importPageToWire(obs []Observation) *pb.ImportPage {
	shared := sharedOf(obs)
	msgs := observationsToWire(obs)
	page := &pb.ImportPage{Observations: msgs}
	if shared.accountSet {
		page.PageAccount = &pb.PageAccount{Id: shared.accountID, Name: shared.accountN}
	}
	for _, id := range shared.libIDs {
		page.Libraries = append(page.Libraries, &pb.Library{Id: id, Name: shared.libNames[id]})
	}
	for _, m := range msgs {
		if shared.accountSet {
			m.AccountId, m.AccountName = "", ""
		}
		if _, inTable := shared.libNames[m.LibraryId]; inTable {
			m.LibraryName = ""
		}
	}
	return page
}

func webhookRequestToWire(r WebhookRequest) *pb.ParseWebhookRequest {
	headers := make([]*pb.Header, 0, len(r.Headers))
	for name, values := range r.Headers {
		headers = append(headers, &pb.Header{Name: name, Values: values})
	}
	return &pb.ParseWebhookRequest{
		Method: r.Method, Headers: headers, Query: r.Query, Body: r.Body,
		ReceivedAtUnixNano: timeToWire(r.ReceivedAt),
	}
}

func webhookRequestFromWire(r *pb.ParseWebhookRequest) WebhookRequest {
	var headers http.Header
	if len(r.GetHeaders()) > 0 {
		headers = make(http.Header, len(r.GetHeaders()))
		for _, h := range r.GetHeaders() {
			// Keys arrive as the host had them; http.Header.Get canonicalises
			// only the key it is asked for, so canonicalise here too.
			key := http.CanonicalHeaderKey(h.GetName())
			headers[key] = append(headers[key], h.GetValues()...)
		}
	}
	return WebhookRequest{
		Method: r.GetMethod(), Headers: headers, Query: r.GetQuery(), Body: r.GetBody(),
		ReceivedAt: timeFromWire(r.GetReceivedAtUnixNano()),
	}
}

func webhookResultToWire(r WebhookResult) *pb.ParseWebhookResponse {
	return &pb.ParseWebhookResponse{
		ServerId: r.ServerID, AccountId: r.AccountID, AccountName: r.AccountName, Event: r.Event,
		Observations: observationsToWire(r.Observations), IgnoredReason: r.Ignored,
		Added: observationsToWire(r.Added),
	}
}

func webhookResultFromWire(r *pb.ParseWebhookResponse) WebhookResult {
	var obs, added []Observation
	if len(r.GetObservations()) > 0 {
		obs = appendObservationsFromWire(make([]Observation, 0, len(r.GetObservations())), r.GetObservations())
	}
	if len(r.GetAdded()) > 0 {
		added = appendObservationsFromWire(make([]Observation, 0, len(r.GetAdded())), r.GetAdded())
	}
	return WebhookResult{
		ServerID: r.GetServerId(), AccountID: r.GetAccountId(), AccountName: r.GetAccountName(),
		Event: r.GetEvent(), Observations: obs, Added: added, Ignored: r.GetIgnoredReason(),
	}
}

func importRequestToWire(r ImportRequest) *pb.ImportRequest {
	return &pb.ImportRequest{
		AccountId: r.AccountID, SinceUnixNano: timeToWire(r.Since),
		IncludeLibraries: r.Libraries.Include, ExcludeLibraries: r.Libraries.Exclude,
		PageSize: int32(r.PageSize),
	}
}

func importRequestFromWire(r *pb.ImportRequest) ImportRequest {
	return ImportRequest{
		AccountID: r.GetAccountId(), Since: timeFromWire(r.GetSinceUnixNano()),
		Libraries: LibraryFilter{Include: r.GetIncludeLibraries(), Exclude: r.GetExcludeLibraries()},
		PageSize:  int(r.GetPageSize()),
	}
}

func writeKindToWire(k WriteKind) pb.WriteKind {
	switch k {
	case WriteWatched:
		return pb.WriteKind_WRITE_KIND_WATCHED
	case WriteUnwatched:
		return pb.WriteKind_WRITE_KIND_UNWATCHED
	case WriteProgress:
		return pb.WriteKind_WRITE_KIND_PROGRESS
	}
	return pb.WriteKind_WRITE_KIND_UNSPECIFIED
}

func writeKindFromWire(k pb.WriteKind) WriteKind {
	switch k {
	case pb.WriteKind_WRITE_KIND_WATCHED:
		return WriteWatched
	case pb.WriteKind_WRITE_KIND_UNWATCHED:
		return WriteUnwatched
	case pb.WriteKind_WRITE_KIND_PROGRESS:
		return WriteProgress
	}
	return ""
}

func writesToWire(ws []Write) *pb.ApplyRequest {
	out := make([]*pb.Write, len(ws))
	for i, w := range ws {
		out[i] = &pb.Write{
			AccountId: w.AccountID, ItemId: w.ItemID, Kind: writeKindToWire(w.Kind),
			PlayedAtUnixNano: timeToWire(w.PlayedAt), ProgressNs: int64(w.Progress), DurationNs: int64(w.Duration),
		}
	}
	return &pb.ApplyRequest{Writes: out}
}

func writesFromWire(r *pb.ApplyRequest) []Write {
	out := make([]Write, len(r.GetWrites()))
	for i, w := range r.GetWrites() {
		out[i] = Write{
			AccountID: w.GetAccountId(), ItemID: w.GetItemId(), Kind: writeKindFromWire(w.GetKind()),
			PlayedAt: timeFromWire(w.GetPlayedAtUnixNano()), Progress: time.Duration(w.GetProgressNs()),
			Duration: time.Duration(w.GetDurationNs()),
		}
	}
	return out
}

func outcomeStatusToWire(s OutcomeStatus) pb.OutcomeStatus {
	switch s {
	case OutcomeOK:
		return pb.OutcomeStatus_OUTCOME_STATUS_OK
	case OutcomeFailed:
		return pb.OutcomeStatus_OUTCOME_STATUS_FAILED
	case OutcomeSkippedPlaying:
		return pb.OutcomeStatus_OUTCOME_STATUS_SKIPPED_PLAYING
	}
	return pb.OutcomeStatus_OUTCOME_STATUS_UNSPECIFIED
}

func outcomeStatusFromWire(s pb.OutcomeStatus) OutcomeStatus {
	switch s {
	case pb.OutcomeStatus_OUTCOME_STATUS_OK:
		return OutcomeOK
	case pb.OutcomeStatus_OUTCOME_STATUS_FAILED:
		return OutcomeFailed
	case pb.OutcomeStatus_OUTCOME_STATUS_SKIPPED_PLAYING:
		return OutcomeSkippedPlaying
	}
	return ""
}

func outcomesToWire(os []WriteOutcome) *pb.ApplyResponse {
	out := make([]*pb.WriteOutcome, len(os))
	for i, o := range os {
		out[i] = &pb.WriteOutcome{Status: outcomeStatusToWire(o.Status), Permanent: o.Permanent, Message: o.Message}
	}
	return &pb.ApplyResponse{Outcomes: out}
}

func outcomesFromWire(r *pb.ApplyResponse) []WriteOutcome {
	out := make([]WriteOutcome, len(r.GetOutcomes()))
	for i, o := range r.GetOutcomes() {
		out[i] = WriteOutcome{Status: outcomeStatusFromWire(o.GetStatus()), Permanent: o.GetPermanent(), Message: o.GetMessage()}
	}
	return out
}

func resolveRequestToWire(r ResolveRequest) *pb.ResolveRequest {
	qs := make([]*pb.ResolveQuery, len(r.Queries))
	for i, q := range r.Queries {
		qs[i] = &pb.ResolveQuery{
			Kind: kindToWire(q.Kind), Guids: q.GUIDs, ShowGuids: q.ShowGUIDs,
			Season: int32(q.Season), Episode: int32(q.Episode), Title: q.Title, Year: int32(q.Year),
		}
	}
	return &pb.ResolveRequest{AccountId: r.AccountID, Queries: qs}
}

func resolveRequestFromWire(r *pb.ResolveRequest) ResolveRequest {
	qs := make([]ResolveQuery, len(r.GetQueries()))
	for i, q := range r.GetQueries() {
		qs[i] = ResolveQuery{
			Kind: kindFromWire(q.GetKind()), GUIDs: q.GetGuids(), ShowGUIDs: q.GetShowGuids(),
			Season: int(q.GetSeason()), Episode: int(q.GetEpisode()), Title: q.GetTitle(), Year: int(q.GetYear()),
		}
	}
	return ResolveRequest{AccountID: r.GetAccountId(), Queries: qs}
}

func resolutionsToWire(rs []Resolution) *pb.ResolveResponse {
	out := make([]*pb.Resolution, len(rs))
	for i, r := range rs {
		out[i] = &pb.Resolution{ItemId: r.ItemID, LibraryId: r.LibraryID, LibraryName: r.LibraryName}
	}
	return &pb.ResolveResponse{Resolutions: out}
}

func resolutionsFromWire(r *pb.ResolveResponse) []Resolution {
	out := make([]Resolution, len(r.GetResolutions()))
	for i, x := range r.GetResolutions() {
		out[i] = Resolution{ItemID: x.GetItemId(), LibraryID: x.GetLibraryId(), LibraryName: x.GetLibraryName()}
	}
	return out
}
