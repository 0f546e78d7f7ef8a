package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestPluginListFindsPluginsDirFromConfig: without --plugins-dir, `plugin
// list` looks in server.plugins_dir of the config file.
func TestPluginListFindsPluginsDirFromConfig(t *testing.T) {
	dir := t.TempDir()
	pluginsDir := filepath.Join(dir, "my-plugins")
	if err := os.Mkdir(pluginsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Not a real plugin: it fails to describe itself, and the listing says so.
	if err := os.WriteFile(filepath.Join(pluginsDir, "keepwatch-backend-broken"), []byte("#!/bin/sh\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "keepwatch.yaml")
	if err := os.WriteFile(cfgPath, []byte("server:\n  plugins_dir: \""+pluginsDir+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runInProcess(t, nil, "--config", cfgPath, "plugin", "list", "--json")
	if code != exitOK {
		t.Fatalf("plugin list exit %d: %s", code, errOut)
	}
	var infos []struct {
		Type   string `json:"type"`
		Source string `json:"source"`
		Error  string `json:"error"`
	}
	if err := json.Unmarshal([]byte(out), &infos); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	found := false
	for _, in := range infos {
		if in.Type == "broken" {
			found = true
			if in.Error == "" {
				t.Errorf("the broken plugin is listed without its error: %+v", in)
			}
		}
	}
	if !found {
		t.Errorf("plugins_dir from the config was not searched: %s", out)
	}
}
