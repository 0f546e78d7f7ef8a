package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/keepwatch/keepwatch/config"
	"github.com/spf13/cobra"
)

func newInitCmd(g *globals) *cobra.Command {
	var path string
	var force bool
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented starter keepwatch.yaml",
		Long: "Write a starter keepwatch.yaml listing every option with its default and a\n" +
			"comment saying what it does. Its example backends and users are commented\n" +
			"out, so the file is valid as written. An existing file is never\n" +
			"overwritten unless --force is given.",
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			if path == "" {
				path = g.configPath(cmd)
			}
			if err := writeStarter(path, force); err != nil {
				return err
			}
			run := "keepwatch serve"
			if filepath.Clean(path) != filepath.Clean(defaultConfigPath) {
				run = fmt.Sprintf("keepwatch --config %s serve", path)
			}
			_, err := fmt.Fprintf(g.stdout, "wrote %s: every option with its default.\nAdd your media servers under backends:, then run: %s\n", path, run)
			return err
		}),
	}
	cmd.Flags().StringVar(&path, "path", "", "where to write the file (default: the --config path)")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing file")
	return cmd
}

// writeStarter writes config.Starter() to path with mode 0600 (the file will
// hold credentials). Without force an existing file is left untouched; with
// force it is replaced atomically.
func writeStarter(path string, force bool) error {
	data := config.Starter()
	if !force {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists; not overwriting it (edit it, or use --force to replace it with a fresh starter file)", path)
		}
		if err != nil {
			return fmt.Errorf("create %s: %w", path, err)
		}
		if _, err := f.Write(data); err != nil {
			_ = f.Close()
			return fmt.Errorf("write %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".keepwatch-init-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
