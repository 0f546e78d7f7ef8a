package fakeserver

import (
	"strconv"
)

// dtoOpts controls how one BaseItemDto is written.
type dtoOpts struct {
	user     int             // -1: no user, no UserData
	fields   map[string]bool // lower-cased Fields; nil writes every field (single-item GETs)
	userData bool            // EnableUserData
	inList   bool            // the DTO is part of a QueryResult
}

func (o dtoOpts) has(field string) bool { return o.fields == nil || o.fields[field] }

// writeItem writes a BaseItemDto with the keys in the servers' declaration order.
func (s *Server) writeItem(w *jw, r itemRec, o dtoOpts) {
	w.obj()
	w.kstr("Name", r.name)
	w.kstr("ServerId", s.serverID)
	w.kstr("Id", s.itemID(r.idx))
	if o.has("datecreated") {
		w.kstr("DateCreated", s.date(r.created))
	}
	if !r.premiere.IsZero() {
		w.kstr("PremiereDate", s.date(r.premiere))
	}
	if o.has("path") && r.path != "" {
		w.kstr("Path", r.path)
	}
	if o.has("overview") && r.overview != "" {
		w.kstr("Overview", r.overview)
	}
	if r.runTicks > 0 {
		w.knum("RunTimeTicks", r.runTicks)
	}
	if r.year > 0 {
		w.knum("ProductionYear", int64(r.year))
	}
	if r.kind == kindEpisode || r.kind == kindSeason {
		w.knum("IndexNumber", int64(r.index))
	}
	if r.kind == kindEpisode {
		w.knum("ParentIndexNumber", int64(r.parentIdx))
	}
	if o.has("providerids") {
		w.kobj("ProviderIds")
		for _, p := range r.providers {
			w.kstr(p.key, p.val)
		}
		w.endObj()
	}
	w.kbool("IsFolder", r.kind.isFolder())
	if o.has("parentid") && r.parent >= 0 {
		w.kstr("ParentId", s.itemID(r.parent))
	}
	w.kstr("Type", r.kind.typeName())
	if o.userData && o.user >= 0 {
		w.key("UserData")
		s.writeUserData(w, r, o.user, s.getUserData(o.user, r.idx), udOpts{inList: o.inList, fields: o.fields})
	}
	switch r.kind {
	case kindEpisode:
		w.kstr("SeriesName", s.seriesName(r.series))
		w.kstr("SeriesId", s.itemID(r.series))
		w.kstr("SeasonId", s.itemID(r.season))
		w.kstr("SeasonName", "Season "+strconv.Itoa(r.parentIdx))
	case kindSeason:
		w.kstr("SeriesName", s.seriesName(r.series))
		w.kstr("SeriesId", s.itemID(r.series))
	case kindView:
		w.kstr("CollectionType", viewCollectionTypes[r.idx])
	}
	w.kstr("LocationType", "FileSystem")
	if r.kind.isVideo() {
		w.kstr("MediaType", "Video")
	} else if s.cfg.Flavor == Jellyfin {
		w.kstr("MediaType", "Unknown")
	}
	w.endObj()
}

type udOpts struct {
	inList bool
	fields map[string]bool
	// endpoint: the UserItemDataDto answered by /PlayedItems and /UserData routes, which
	// carries the real ItemId on Jellyfin.
	endpoint bool
}

// writeUserData writes UserItemDataDto.
//
// Jellyfin [obs api_items_list_*_10.x.json]: Key is always there, ItemId is the all-zero Guid
// in item DTOs (lists and single items share DtoService) while the user-data endpoints return
// the item's id; null LastPlayedDate is omitted (JsonIgnoreCondition.WhenWritingNull).
// Emby [3p Reclaimerr#83, capacitarr#25]: no Key or ItemId; from 4.8 on, list responses omit
// LastPlayedDate and report PlayCount 0 unless Fields names UserDataLastPlayedDate /
// UserDataPlayCount.
func (s *Server) writeUserData(w *jw, r itemRec, u int, d userData, o udOpts) {
	w.obj()
	if r.kind.isFolder() {
		unplayed, total := s.folderCounts(u, r.idx)
		if total > 0 {
			pct := float64(total-unplayed) / float64(total) * 100
			if pct > 0 && pct < 100 {
				w.key("PlayedPercentage")
				w.float(pct)
			}
		}
		w.knum("UnplayedItemCount", int64(unplayed))
		d.played = total > 0 && unplayed == 0
	} else if d.position > 0 && r.runTicks > 0 {
		w.key("PlayedPercentage")
		w.float(float64(d.position) / float64(r.runTicks) * 100)
	}
	w.knum("PlaybackPositionTicks", d.position)
	playCount, showLast := d.playCount, true
	if s.cfg.Flavor == Emby && o.inList && s.ver.atLeast(emby48) {
		if !o.fields["userdataplaycount"] {
			playCount = 0
		}
		showLast = o.fields["userdatalastplayeddate"]
	}
	w.knum("PlayCount", int64(playCount))
	w.kbool("IsFavorite", d.favorite)
	if !d.lastPlay.IsZero() && showLast {
		w.kstr("LastPlayedDate", s.date(d.lastPlay))
	}
	w.kbool("Played", d.played)
	if s.cfg.Flavor == Jellyfin {
		w.kstr("Key", s.userDataKey(r))
		if o.endpoint {
			w.kstr("ItemId", s.itemID(r.idx))
		} else {
			w.kstr("ItemId", zeroGUID)
		}
	}
	w.endObj()
}

// writeQueryResult wraps written items: Jellyfin's QueryResult has StartIndex, Emby's not.
func (s *Server) writeQueryResult(items func(w *jw), total, start, sizeHint int) []byte {
	w := s.newJW()
	w.b = make([]byte, 0, 1024+sizeHint*1024)
	w.obj()
	w.karr("Items")
	items(w)
	w.endArr()
	w.knum("TotalRecordCount", int64(total))
	if s.cfg.Flavor == Jellyfin {
		w.knum("StartIndex", int64(start))
	}
	w.endObj()
	return w.b
}

func (s *Server) writeUser(w *jw, i int) {
	u := s.users[i]
	w.obj()
	w.kstr("Name", u.Name)
	w.kstr("ServerId", s.serverID)
	w.kstr("Id", u.ID)
	w.kbool("HasPassword", u.Password != "")
	w.kbool("HasConfiguredPassword", u.Password != "")
	w.kbool("HasConfiguredEasyPassword", false)
	w.kbool("EnableAutoLogin", false)
	w.kstr("LastLoginDate", s.date(genCreatedBase))
	w.kstr("LastActivityDate", s.date(genCreatedBase))
	w.kobj("Configuration")
	w.kbool("PlayDefaultAudioTrack", true)
	w.kbool("HidePlayedInLatest", true)
	w.endObj()
	w.kobj("Policy")
	w.kbool("IsAdministrator", u.Admin)
	w.kbool("IsHidden", false)
	w.kbool("IsDisabled", false)
	w.kbool("EnableAllFolders", true)
	if s.cfg.Flavor == Jellyfin {
		w.kstr("AuthenticationProviderId", "Jellyfin.Server.Implementations.Users.DefaultAuthenticationProvider")
		w.kstr("PasswordResetProviderId", "Jellyfin.Server.Implementations.Users.DefaultPasswordResetProvider")
	}
	w.endObj()
	w.endObj()
}

func (s *Server) writePublicSystemInfo(w *jw, c *reqCtx, full bool) {
	w.obj()
	w.kstr("LocalAddress", "http://"+c.r.Host)
	if s.cfg.Flavor == Emby {
		w.kstr("WanAddress", "http://"+c.r.Host)
	}
	w.kstr("ServerName", s.cfg.ServerName)
	w.kstr("Version", s.cfg.Version)
	if s.cfg.Flavor == Jellyfin {
		w.kstr("ProductName", "Jellyfin Server")
	}
	w.kstr("OperatingSystem", "Linux")
	w.kstr("Id", s.serverID)
	if s.cfg.Flavor == Jellyfin {
		w.kbool("StartupWizardCompleted", true)
	}
	if full {
		w.kstr("OperatingSystemDisplayName", "Linux")
		w.kbool("HasPendingRestart", false)
		w.kbool("IsShuttingDown", false)
		w.kbool("SupportsLibraryMonitor", true)
		w.knum("WebSocketPortNumber", 8096)
		w.kbool("CanSelfRestart", true)
		w.kbool("CanLaunchWebBrowser", false)
		w.kbool("HasUpdateAvailable", false)
	}
	w.endObj()
}
