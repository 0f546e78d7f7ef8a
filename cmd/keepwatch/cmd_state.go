package main

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keepwatch/keepwatch/api"
)

func init() {
	moreCommands = append(moreCommands, newStateCmd)
}

func newStateCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "state", Short: "Show and change keepwatch's records of who watched what (asks the running daemon)"}
	r := newRemote(g, cmd)

	var watched bool
	var user, backend string
	var limit int
	var after uint64
	var list *cobra.Command
	list = getCmd(r, "list", "List records in id order (--watched or --watched=false to filter)", cobra.NoArgs,
		func([]string) (string, url.Values) {
			q := url.Values{"limit": {strconv.Itoa(limit)}}
			for k, v := range map[string]string{"user": user, "backend": backend} {
				if v != "" {
					q.Set(k, v)
				}
			}
			if list.Flags().Changed("watched") {
				q.Set("watched", strconv.FormatBool(watched))
			}
			if after > 0 {
				q.Set("after", strconv.FormatUint(after, 10))
			}
			return "/state", q
		}, func(w io.Writer, page api.StatePage) error {
			row(w, "ID", "USER", "KIND", "ITEM", "WATCHED", "PLAYED", "PROGRESS")
			for _, rec := range page.Records {
				row(w, strconv.FormatUint(rec.ID, 10), rec.User, rec.Item.Kind, itemTitle(rec.Item), yesNo(rec.Watched),
					showTime(rec.PlayedAt), showSeconds(rec.ProgressSeconds))
			}
			if page.Next != 0 {
				row(w)
				row(w, fmt.Sprintf("more: run again with --after %d", page.Next))
			}
			return nil
		})
	list.Flags().StringVar(&user, "user", "", "only this user's records")
	list.Flags().StringVar(&backend, "backend", "", "only records this backend has")
	list.Flags().BoolVar(&watched, "watched", false, "only watched records (--watched=false: only unwatched)")
	list.Flags().IntVar(&limit, "limit", 50, "at most this many (1 to 1000)")
	list.Flags().Uint64Var(&after, "after", 0, "start after this record id (the value a previous page printed)")

	showCmd := getCmd(r, "show ID", "Show one record: its state, what each backend has, and its recent history", cobra.ExactArgs(1),
		under("/state/", ""), recordDetail)

	var markWatched, markUnwatched, markJSON bool
	mark := &cobra.Command{
		Use: "mark ID --watched|--unwatched", Short: "Mark a record watched or unwatched by hand; the change is pushed to every backend",
		Args: cobra.ExactArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if markWatched == markUnwatched {
				return usageError("state mark: give exactly one of --watched and --unwatched")
			}
			c, err := r.client(cmd)
			if err != nil {
				return err
			}
			var res api.MarkResult
			raw, err := c.do(cmd.Context(), http.MethodPost, "/state/"+url.PathEscape(args[0])+"/mark", nil, api.MarkRequest{Watched: &markWatched}, &res)
			if err != nil {
				return err
			}
			if markJSON {
				return printJSON(g.stdout, raw)
			}
			word := "unwatched"
			if res.Record.Watched {
				word = "watched"
			}
			fmt.Fprintf(g.stdout, "record %d (%s, %s) marked %s by run %d; %d write(s) queued (undo: keepwatch runs undo %d)\n",
				res.Record.ID, res.Record.User, itemTitle(res.Record.Item), word, res.Run.ID, res.Run.Counts["queued"], res.Run.ID)
			return nil
		}),
	}
	mark.Flags().BoolVar(&markWatched, "watched", false, "mark watched (played now)")
	mark.Flags().BoolVar(&markUnwatched, "unwatched", false, "mark unwatched (clears the play date and position)")
	addJSONFlag(mark, &markJSON)

	cmd.AddCommand(list, showCmd, mark)
	return cmd
}

// itemTitle names an item for people: "Fight Club (1999)", "The Wire
// S01E01 Pilot".
func itemTitle(it api.Item) string {
	if it.Kind == "episode" {
		s := fmt.Sprintf("%s S%02dE%02d", orDash(it.ShowTitle), it.Season, it.Episode)
		if it.Title != "" {
			s += " " + it.Title
		}
		return s
	}
	if it.Year > 0 {
		return fmt.Sprintf("%s (%d)", orDash(it.Title), it.Year)
	}
	return orDash(it.Title)
}

func guidList(gs []string) string {
	if len(gs) == 0 {
		return "-"
	}
	return strings.Join(gs, " ")
}

func stateText(s *api.PlayState) string {
	if s == nil {
		return "-"
	}
	out := "unwatched"
	if s.Watched {
		out = "watched"
	}
	if !s.PlayedAt.IsZero() {
		out += " " + showTime(s.PlayedAt)
	}
	if s.ProgressSeconds > 0 {
		out += " at " + showSeconds(s.ProgressSeconds)
	}
	return out
}

// recordDetail prints one record as key/value lines, then what each
// backend has, then its history.
func recordDetail(w io.Writer, rec api.Record) error {
	guids := make([]string, 0, len(rec.Item.GUIDs)+len(rec.Item.ShowGUIDs))
	for _, g := range rec.Item.GUIDs {
		guids = append(guids, string(g))
	}
	for _, g := range rec.Item.ShowGUIDs {
		guids = append(guids, "show "+string(g))
	}
	for _, kv := range [][2]string{
		{"Record", strconv.FormatUint(rec.ID, 10)},
		{"User", rec.User},
		{"Item", rec.Item.Kind + ": " + itemTitle(rec.Item)},
		{"GUIDs", guidList(guids)},
		{"State", stateText(&rec.PlayState)},
		{"Changed", showTime(rec.ChangedAt) + " by " + orDash(rec.ChangedBy)},
	} {
		row(w, kv[0]+":", kv[1])
	}
	names := slices.Concat(slices.Collect(maps.Keys(rec.Refs)), slices.Collect(maps.Keys(rec.Bases)), slices.Collect(maps.Keys(rec.Absent)))
	slices.Sort(names)
	names = slices.Compact(names)
	row(w)
	row(w, "BACKEND", "REMOTE ID", "LIBRARY", "LAST SEEN OR WRITTEN", "STATE THERE")
	for _, name := range names {
		ref := rec.Refs[name]
		base, ok := rec.Bases[name]
		seen, state := "-", "-"
		if ok {
			seen, state = showTime(base.SeenAt), stateText(&base.PlayState)
			if base.Written {
				seen += " (written)"
			}
		}
		if at, absent := rec.Absent[name]; absent && ref.RemoteID == "" {
			state = "not on this server (looked up " + showTime(at) + ")"
		}
		row(w, name, orDash(ref.RemoteID), orDash(ref.Library), seen, state)
	}
	if len(rec.Journal) == 0 {
		return nil
	}
	row(w)
	row(w, "WHEN", "ORIGIN", "EVENT", "BACKEND", "BEFORE", "AFTER", "REASON")
	for _, ev := range rec.Journal {
		kind := ev.Kind
		if ev.DryRun {
			kind += " (dry run)"
		}
		row(w, showTime(ev.At), fmt.Sprintf("%s %d", ev.Origin.Kind, ev.Origin.ID), kind, orDash(ev.Backend),
			stateText(ev.Before), stateText(ev.After), orDash(ev.Reason))
	}
	return nil
}
