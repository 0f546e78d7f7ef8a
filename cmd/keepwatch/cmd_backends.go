package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keepwatch/keepwatch/api"
	"github.com/keepwatch/keepwatch/plugins/host"
)

func init() {
	moreCommands = append(moreCommands, newBackendsCmd, newUsersCmd, newWebhooksCmd)
}

func newBackendsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "backends", Short: "Show the configured media servers (asks the running daemon)"}
	r := newRemote(g, cmd)

	list := getCmd(r, "list", "List backends and whether their servers answer", cobra.NoArgs, fixed("/backends"),
		func(w io.Writer, bs []api.Backend) error {
			row(w, "NAME", "TYPE", "PLUGIN", "IMPORT", "EXPORT", "REACHABLE", "SERVER", "VERSION", "CHECKED", "DETAIL")
			for _, b := range bs {
				row(w, b.Name, b.Type, pluginState(b.Plugin), yesNo(b.Import), yesNo(b.Export), yesNo(b.Reachable), orDash(b.ServerName),
					orDash(b.ServerVer), showTime(b.CheckedAt), orDash(detail(b)))
			}
			return nil
		})

	var testJSON bool
	test := &cobra.Command{
		Use: "test NAME", Short: "Check now that a backend's server answers; exits 1 when it does not", Args: cobra.ExactArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			c, err := r.client(cmd)
			if err != nil {
				return err
			}
			var st api.Backend
			raw, err := c.do(cmd.Context(), http.MethodPost, "/backends/"+url.PathEscape(args[0])+"/test", nil, nil, &st)
			if err != nil {
				return err
			}
			if testJSON {
				err = printJSON(g.stdout, raw)
			} else if st.Reachable {
				fmt.Fprintf(g.stdout, "%s: reachable: %s (%s %s), server id %s\n", st.Name, orDash(st.ServerName), st.Type, orDash(st.ServerVer), orDash(st.ServerID))
			}
			if err == nil && !st.Reachable {
				err = fmt.Errorf("%s is not reachable: %s", st.Name, orDash(st.Detail))
			}
			return err
		}),
	}
	addJSONFlag(test, &testJSON)

	accounts := getCmd(r, "accounts NAME", "List the accounts a backend's server has, and who each is mapped to", cobra.ExactArgs(1),
		under("/backends/", "/accounts"), func(w io.Writer, as []api.Account) error {
			row(w, "ID", "NAME", "ADMIN", "USER")
			for _, a := range as {
				row(w, a.ID, a.Name, yesNo(a.Admin), orDash(a.User))
			}
			return nil
		})
	cmd.AddCommand(list, test, accounts)
	return cmd
}

// pluginState shows a plugin's state, with its restarts when there were any.
func pluginState(p *api.Plugin) string {
	switch {
	case p == nil:
		return "-"
	case p.Restarts > 0:
		return fmt.Sprintf("%s (%d restarts)", p.State, p.Restarts)
	default:
		return string(p.State)
	}
}

// detail says what is wrong with a backend: its plugin's last error while
// the plugin is not ready, else what the server check said.
func detail(b api.Backend) string {
	if b.Plugin != nil && b.Plugin.State != host.StateReady && b.Plugin.LastError != "" {
		return "plugin: " + b.Plugin.LastError
	}
	return b.Detail
}

func newUsersCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "users", Short: "Show household users and their accounts (asks the running daemon)"}
	r := newRemote(g, cmd)
	list := getCmd(r, "list", "Show the table user × backend → account, and the unmapped accounts", cobra.NoArgs, fixed("/users"), usersTable)
	cmd.AddCommand(list)
	return cmd
}

func usersTable(w io.Writer, us api.Users) error {
	row(w, append([]string{"USER"}, upper(us.Backends)...)...)
	for _, u := range us.Users {
		cells := []string{u.Name}
		for _, b := range us.Backends {
			a, ok := u.Accounts[b]
			switch {
			case !ok:
				cells = append(cells, "-")
			case a.Source == "auto":
				cells = append(cells, a.AccountName+" (auto)")
			default:
				cells = append(cells, a.AccountName)
			}
		}
		row(w, cells...)
	}
	if len(us.Unmapped) == 0 {
		return nil
	}
	row(w)
	row(w, "UNMAPPED ACCOUNT", "BACKEND", "ID")
	for _, a := range us.Unmapped {
		row(w, a.AccountName, a.Backend, a.AccountID)
	}
	return nil
}

func upper(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.ToUpper(s)
	}
	return out
}

func newWebhooksCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "webhooks", Short: "Show and rotate webhook URLs, and what became of deliveries (asks the running daemon)"}
	r := newRemote(g, cmd)

	list := getCmd(r, "list", `List the webhook URLs to give the media servers ("*": one URL for every user of the backend)`, cobra.NoArgs,
		fixed("/webhooks"), func(w io.Writer, hs []api.Webhook) error {
			row(w, "USER", "BACKEND", "URL")
			for _, h := range hs {
				row(w, h.User, h.Backend, h.URL)
			}
			return nil
		})

	var rotateJSON bool
	rotate := &cobra.Command{
		Use: "rotate USER BACKEND", Short: `Replace the webhook token of USER ("*" for backend-wide) on BACKEND; the old URL stops working at once`,
		Args: cobra.ExactArgs(2),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			c, err := r.client(cmd)
			if err != nil {
				return err
			}
			var h api.Webhook
			raw, err := c.do(cmd.Context(), http.MethodPost, "/webhooks/rotate", nil, api.RotateRequest{User: args[0], Backend: args[1]}, &h)
			if err != nil {
				return err
			}
			if rotateJSON {
				return printJSON(g.stdout, raw)
			}
			fmt.Fprintf(g.stdout, "new webhook URL for %s on %s (give it to the server; the old one no longer works):\n%s\n", h.User, h.Backend, h.URL)
			return nil
		}),
	}
	addJSONFlag(rotate, &rotateJSON)

	var backend string
	var limit int
	deliveries := getCmd(r, "deliveries", "List the latest webhook deliveries and what became of each", cobra.NoArgs,
		func([]string) (string, url.Values) {
			q := url.Values{"limit": {strconv.Itoa(limit)}}
			if backend != "" {
				q.Set("backend", backend)
			}
			return "/webhooks/deliveries", q
		}, func(w io.Writer, ds []api.Delivery) error {
			row(w, "ID", "RECEIVED", "BACKEND", "USER", "STATUS", "CHANGES", "REASON")
			for _, d := range ds {
				row(w, strconv.FormatUint(d.ID, 10), showTime(d.ReceivedAt), d.Backend, d.User, d.Status, strconv.Itoa(d.Changes), orDash(d.Reason))
			}
			return nil
		})
	deliveries.Flags().StringVar(&backend, "backend", "", "only this backend's deliveries")
	deliveries.Flags().IntVar(&limit, "limit", 50, "at most this many, newest first (1 to 1000)")
	cmd.AddCommand(list, rotate, deliveries)
	return cmd
}
