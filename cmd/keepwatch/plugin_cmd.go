package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keepwatch/keepwatch/config"
	"github.com/keepwatch/keepwatch/plugins"
	"github.com/keepwatch/keepwatch/plugins/host"
)

// newPluginCmd builds `keepwatch plugin serve|list`. builtins are the
// backends compiled into this binary, by type.
func newPluginCmd(g *globals, builtins map[string]plugins.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plugin",
		Short: "Serve or list backend plugins",
	}
	cmd.AddCommand(newPluginServeCmd(builtins), newPluginListCmd(g, builtins))
	return cmd
}

func newPluginServeCmd(builtins map[string]plugins.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "serve TYPE",
		Short: "Serve a built-in backend as a plugin process (keepwatch runs this itself)",
		Long: "Serve a built-in backend over the plugin protocol. keepwatch serve starts one such process\n" +
			"per configured backend; run by hand, it says it is a plugin and exits.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			factory, ok := builtins[args[0]]
			if !ok {
				return fmt.Errorf("no built-in backend %q (built-in: %s); an external plugin runs as %s%s from the plugins directory",
					args[0], pluginTypeList(builtins), host.ExecutablePrefix, args[0])
			}
			plugins.Serve(factory)
			return nil
		},
	}
}

func newPluginListCmd(g *globals, builtins map[string]plugins.Factory) *cobra.Command {
	var (
		dir    string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List built-in backends and the plugins found in the plugins directory",
		Long: "List the built-in backends and the " + host.ExecutablePrefix + "<type> executables in the plugins\n" +
			"directory, with their versions and capabilities. Each external plugin is started once to describe itself.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			if !cmd.Flags().Changed("plugins-dir") {
				// server.plugins_dir of the config file, when there is one.
				cfg, err := config.Load(g.configPath(cmd))
				switch {
				case err == nil:
					dir = cfg.Server.PluginsDir
				case !errors.Is(err, config.ErrNotFound):
					return &exitError{code: exitUsage, err: err}
				}
			}
			logger, err := newLogger(cmd.ErrOrStderr(), "warn")
			if err != nil {
				return err
			}
			infos, err := host.List(ctx, host.ListOptions{
				Builtins:   builtins,
				PluginsDir: dir,
				Logger:     logger,
			})
			if err != nil {
				return err
			}
			return host.WriteList(cmd.OutOrStdout(), infos, asJSON)
		},
	}
	cmd.Flags().StringVar(&dir, "plugins-dir", "./plugins", "directory holding "+host.ExecutablePrefix+"<type> executables (default: server.plugins_dir of --config, else ./plugins)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func pluginTypeList(builtins map[string]plugins.Factory) string {
	if len(builtins) == 0 {
		return "none"
	}
	types := make([]string, 0, len(builtins))
	for t := range builtins {
		types = append(types, t)
	}
	sort.Strings(types)
	return strings.Join(types, ", ")
}
