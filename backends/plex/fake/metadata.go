package fake

import (
	"fmt"
	"strconv"
)

// itemView says how an item is written.
type itemView struct {
	includeGuids bool // Guid[] (only for new-agent items)
	// withSection adds librarySectionTitle/ID/Key to the item; section listings hoist
	// them to the MediaContainer instead.
	withSection bool
	// offset overrides the user's viewOffset (a playing session's position).
	offset int64
	// sessionExtra writes sessionKey/User/Player/Session (for /status/sessions).
	session *session
	// state, when set, is used instead of the user's stored state (webhooks).
	state *viewState
	// webhook writes the item as a webhook's "Metadata" object: librarySectionType
	// first, no Media/Part and no descriptive tags beyond what webhooks carry.
	webhook bool
}

var (
	contentRatings = [...]string{"G", "PG", "PG-13", "R", "TV-14", "TV-MA", "TV-PG"}
	studios        = [...]string{"Northwind Pictures", "Blue Lantern Studios", "Harbor Films", "Copper Sky", "Atlas Media"}
	genres         = [...]string{"Action", "Comedy", "Drama", "Science Fiction", "Thriller", "Animation", "Documentary", "Romance", "Horror", "Adventure"}
	people         = [...]string{"Ada Moreno", "Ben Ito", "Clara Voss", "Dev Patel", "Elena Kurz", "Femi Adeyemi", "Greta Lind", "Hugo Brandt", "Iris Novak", "Jonas Berg"}
)

// writeItem writes metadata item idx as user u sees it.
func (s *Server) writeItem(e *enc, idx int32, u *account, v itemView) {
	it := &s.items[idx]
	rk := s.rk(idx)
	h := h64(uint64(it.kind), uint64(it.ord), uint64(it.index), 11)
	title := s.title(idx)
	var st viewState
	switch {
	case v.state != nil:
		st = *v.state
	case it.kind == kindMovie || it.kind == kindEpisode:
		st = u.states[idx]
	}
	if v.offset > 0 {
		st.viewOffset = int32(v.offset)
	}
	sec := s.sections[it.section]

	tag := "Video"
	if it.kind == kindShow || it.kind == kindSeason {
		tag = "Directory"
	}
	if v.webhook {
		e.object("Metadata")
		e.str("librarySectionType", sec.spec.Type)
	} else {
		e.open(tag)
	}
	if v.session != nil {
		e.str("sessionKey", strconv.Itoa(v.session.key))
	}
	e.numStr("ratingKey", rk)
	switch it.kind {
	case kindShow, kindSeason:
		e.prefixedNum("key", "/library/metadata/", rk, "/children")
	default:
		e.prefixedNum("key", "/library/metadata/", rk, "")
	}
	var season, show int32 = -1, -1
	switch it.kind {
	case kindSeason:
		show = it.parent
	case kindEpisode:
		season, show = it.parent, it.grand
	}
	if season >= 0 {
		e.numStr("parentRatingKey", s.rk(season))
		e.numStr("grandparentRatingKey", s.rk(show))
	} else if show >= 0 {
		e.numStr("parentRatingKey", s.rk(show))
	}
	e.str("guid", s.guid(idx))
	if season >= 0 {
		e.str("parentGuid", s.guid(season))
		e.str("grandparentGuid", s.guid(show))
	} else if show >= 0 {
		e.str("parentGuid", s.guid(show))
	}
	if it.kind == kindMovie || it.kind == kindShow {
		e.str("studio", studios[h%uint64(len(studios))])
	}
	e.str("type", it.kind.String())
	e.str("title", title)
	if ts := titleSort(title); ts != title {
		e.str("titleSort", ts)
	}
	if season >= 0 {
		e.prefixedNum("grandparentKey", "/library/metadata/", s.rk(show), "")
		e.prefixedNum("parentKey", "/library/metadata/", s.rk(season), "")
	} else if show >= 0 {
		e.prefixedNum("parentKey", "/library/metadata/", s.rk(show), "")
	}
	if v.withSection {
		e.str("librarySectionTitle", sec.spec.Title)
		secID, _ := strconv.Atoi(sec.spec.Key)
		e.num("librarySectionID", int64(secID))
		e.str("librarySectionKey", "/library/sections/"+sec.spec.Key)
	}
	if season >= 0 {
		e.str("grandparentTitle", s.title(show))
		e.str("parentTitle", s.title(season))
	} else if show >= 0 {
		e.str("parentTitle", s.title(show))
	}
	if it.kind != kindSeason {
		e.str("contentRating", contentRatings[h%uint64(len(contentRatings))])
	}
	e.str("summary", summaryFor(it.kind))
	switch it.kind {
	case kindEpisode:
		e.num("index", int64(it.index))
		e.num("parentIndex", int64(s.items[season].index))
	case kindSeason:
		e.num("index", int64(it.index))
		e.num("parentIndex", 1)
	case kindShow:
		e.num("index", 1)
	}
	if it.kind != kindSeason {
		e.flt("audienceRating", float64(h%100)/10)
	}
	var agg aggregateState
	if it.kind == kindShow || it.kind == kindSeason {
		agg = s.aggregate(u, idx)
		e.numIf("lastViewedAt", agg.lastViewedAt)
	} else {
		// The quirk sync tools trip on: unset state keys are absent, not 0.
		e.numIf("viewOffset", int64(st.viewOffset))
		e.numIf("viewCount", int64(st.viewCount))
		e.numIf("lastViewedAt", st.lastViewedAt)
	}
	if it.kind != kindSeason {
		e.num("year", int64(it.year))
	}
	e.prefixedNum("thumb", "/library/metadata/", rk, "/thumb/"+strconv.FormatInt(it.updatedAt, 10))
	artIdx := idx // episodes and seasons show their show's art
	if show >= 0 {
		artIdx = show
	}
	e.prefixedNum("art", "/library/metadata/", s.rk(artIdx), "/art/"+strconv.FormatInt(s.items[artIdx].updatedAt, 10))
	if season >= 0 {
		e.prefixedNum("parentThumb", "/library/metadata/", s.rk(season), "/thumb/"+strconv.FormatInt(s.items[season].updatedAt, 10))
		e.prefixedNum("grandparentThumb", "/library/metadata/", s.rk(show), "/thumb/"+strconv.FormatInt(s.items[show].updatedAt, 10))
		e.prefixedNum("grandparentArt", "/library/metadata/", s.rk(show), "/art/"+strconv.FormatInt(s.items[show].updatedAt, 10))
	} else if show >= 0 {
		e.prefixedNum("parentThumb", "/library/metadata/", s.rk(show), "/thumb/"+strconv.FormatInt(s.items[show].updatedAt, 10))
	}
	switch it.kind {
	case kindMovie, kindEpisode:
		e.num("duration", int64(it.duration))
		e.str("originallyAvailableAt", airDate(it.year, h))
	case kindShow:
		e.num("duration", 1_800_000)
		e.str("originallyAvailableAt", airDate(it.year, h))
		e.num("leafCount", int64(agg.leaves))
		e.num("viewedLeafCount", int64(agg.viewedLeaves))
		e.num("childCount", int64(len(it.ext.children)))
	case kindSeason:
		e.num("leafCount", int64(agg.leaves))
		e.num("viewedLeafCount", int64(agg.viewedLeaves))
	}
	e.num("addedAt", it.addedAt)
	e.num("updatedAt", it.updatedAt)
	if it.kind != kindSeason {
		e.str("audienceRatingImage", "themoviedb://image.rating")
	}
	if it.kind == kindMovie || it.kind == kindEpisode {
		e.str("chapterSource", "media")
	}

	if (it.kind == kindMovie || it.kind == kindEpisode) && !v.webhook {
		s.writeMedia(e, idx, title, show, season)
	}
	switch it.kind {
	case kindMovie:
		writeTags(e, genreTags, h, 2)
		writeTags(e, countryTags, h>>3, 1)
		writeTags(e, directorTags, h>>5, 1)
		writeTags(e, writerTags, h>>7, 1)
		writeTags(e, roleTags, h>>9, 3)
	case kindEpisode:
		writeTags(e, directorTags, h>>5, 1)
		writeTags(e, writerTags, h>>7, 1)
		writeTags(e, roleTags, h>>9, 2)
	case kindShow:
		writeTags(e, genreTags, h, 2)
		writeTags(e, countryTags, h>>3, 1)
		writeTags(e, roleTags, h>>9, 3)
	}
	if v.includeGuids {
		if ids := s.externalGUIDs(idx); len(ids) > 0 {
			e.group("Guid")
			for _, id := range ids {
				e.open("Guid")
				e.str("id", id)
				e.close()
			}
			e.endGroup()
		}
	}
	if v.session != nil {
		s.writeSessionParts(e, v.session)
	}
	e.close()
}

func summaryFor(k kind) string {
	switch k {
	case kindMovie:
		return "A generated film: somebody wants something, and it gets complicated."
	case kindShow:
		return "A generated series with more seasons than anyone planned."
	case kindEpisode:
		return "Things happen, then other things happen."
	}
	return ""
}

func airDate(year int16, h uint64) string {
	return fmt.Sprintf("%04d-%02d-%02d", year, 1+h%12, 1+(h>>4)%28)
}

// writeMedia writes the Media/Part elements of a playable item.
func (s *Server) writeMedia(e *enc, idx int32, title string, show, season int32) {
	it := &s.items[idx]
	rk := s.rk(idx)
	h := h64(uint64(rk), 13)
	var file string
	if show >= 0 {
		st := s.title(show)
		file = fmt.Sprintf("%s/%s/Season %02d/%s - s%02de%02d - %s.mkv", s.sections[it.section].location, st, s.items[season].index, st, s.items[season].index, it.index, title)
	} else {
		file = fmt.Sprintf("%s/%s (%d)/%s (%d).mkv", s.sections[it.section].location, title, it.year, title, it.year)
	}
	e.group("Media")
	e.open("Media")
	e.num("id", 500_000+int64(idx))
	e.num("duration", int64(it.duration))
	e.num("bitrate", int64(2000+h%8000))
	e.num("width", 1920)
	e.num("height", 1080)
	e.flt("aspectRatio", 1.78)
	e.num("audioChannels", 6)
	e.str("audioCodec", "eac3")
	e.str("videoCodec", "hevc")
	e.str("videoResolution", "1080")
	e.str("container", "mkv")
	e.str("videoFrameRate", "24p")
	e.str("videoProfile", "main 10")
	e.str("audioProfile", "dolby digital plus")
	e.boolean("has64bitOffsets", false)
	e.boolean("optimizedForStreaming", false)
	e.group("Part")
	e.open("Part")
	partID := 900_000 + int64(idx)
	e.num("id", partID)
	e.str("key", "/library/parts/"+strconv.FormatInt(partID, 10)+"/"+strconv.FormatInt(it.addedAt, 10)+"/file.mkv")
	e.num("duration", int64(it.duration))
	e.str("file", file)
	e.num("size", int64(it.duration)*int64(250+h%500))
	e.str("container", "mkv")
	e.str("videoProfile", "main 10")
	e.str("audioProfile", "dolby digital plus")
	e.boolean("has64bitOffsets", false)
	e.boolean("optimizedForStreaming", false)
	e.close()
	e.endGroup()
	e.close()
	e.endGroup()
}

// tagInfo is one pre-rendered tag: tags come from small fixed lists, so their
// strings are built once, not per item.
type tagInfo struct {
	id               int64
	filter, tag, key string
	thumb            string
}

type tagSet struct {
	name   string // element name (Genre, Role, …)
	filter string
	tags   []tagInfo
}

func newTagSet(name, filter string, names []string, idBase int64) *tagSet {
	ts := &tagSet{name: name, filter: filter}
	for j, n := range names {
		id := idBase + int64(j)
		ti := tagInfo{id: id, filter: filter + "=" + strconv.FormatInt(id, 10), tag: n}
		switch filter {
		case "actor", "director", "writer":
			// People carry a plex.tv tagKey; actors and writers a photo.
			ti.key = plexHex(uint64(id), 23)
			if filter != "director" {
				ti.thumb = "https://metadata-static.plex.tv/people/" + ti.key + ".jpg"
			}
		}
		ts.tags = append(ts.tags, ti)
	}
	return ts
}

var (
	countries    = []string{"United States of America", "United Kingdom", "France", "Japan"}
	genreTags    = newTagSet("Genre", "genre", genres[:], 100)
	countryTags  = newTagSet("Country", "country", countries, 200)
	directorTags = newTagSet("Director", "director", people[:], 300)
	writerTags   = newTagSet("Writer", "writer", people[:], 300)
	roleTags     = newTagSet("Role", "actor", people[:], 300)
	roleNames    = [...]string{"Character 1", "Character 2", "Character 3"}
)

// writeTags writes n tags of a set, picked by h.
func writeTags(e *enc, ts *tagSet, h uint64, n int) {
	e.group(ts.name)
	for i := 0; i < n; i++ {
		t := &ts.tags[(h+uint64(i)*7)%uint64(len(ts.tags))]
		e.open(ts.name)
		e.num("id", t.id)
		e.str("filter", t.filter)
		e.str("tag", t.tag)
		e.strIf("tagKey", t.key)
		if ts.filter == "actor" {
			e.str("role", roleNames[i%len(roleNames)])
		}
		e.strIf("thumb", t.thumb)
		e.close()
	}
	e.endGroup()
}
