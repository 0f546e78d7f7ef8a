//go:build ignore

// strip.go cuts the vendor OpenAPI documents down to the paths the Jellyfin and Emby fakes
// serve, plus every component those paths reference (transitively). The full documents are
// 2-3 MB each; the cut ones keep the tests fast and the repository small, and this program
// makes the cut reproducible.
//
// Usage, from this directory (shared/ sits beside the repository in CI and on dev machines):
//
//	go run strip.go -shared ../../../../../../../shared/specs
//
// It rewrites jellyfin-10.11.11.json, jellyfin-12.0.0.json and emby-4.8.11.json here and
// prints the sha256 of each input so README.md can name the exact source files.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

var jellyfinPaths = []string{
	"/System/Info",
	"/System/Info/Public",
	"/Users",
	"/Users/Me",
	"/Users/{userId}",
	"/Users/AuthenticateByName",
	"/UserViews",
	"/Items",
	"/Items/{itemId}",
	"/UserPlayedItems/{itemId}",
	"/UserItems/{itemId}/UserData",
	"/Sessions",
	"/Sessions/Playing",
	"/Sessions/Playing/Progress",
	"/Sessions/Playing/Stopped",
}

var embyPaths = []string{
	"/System/Info",
	"/System/Info/Public",
	"/Users/Query",
	"/Users/Public",
	"/Users/{Id}",
	"/Users/AuthenticateByName",
	"/Users/{UserId}/Views",
	"/Users/{UserId}/Items",
	"/Items",
	"/Users/{UserId}/Items/{Id}",
	"/Users/{UserId}/PlayedItems/{Id}",
	"/Users/{UserId}/PlayedItems/{Id}/Delete",
	"/Users/{UserId}/Items/{ItemId}/UserData",
	"/Sessions",
	"/Sessions/Playing",
	"/Sessions/Playing/Progress",
	"/Sessions/Playing/Stopped",
}

func main() {
	shared := flag.String("shared", "../../../../../../../shared/specs", "directory holding the full vendor specs")
	flag.Parse()
	jobs := []struct {
		in, out string
		paths   []string
	}{
		{"jellyfin-openapi-10.11.11.json", "jellyfin-10.11.11.json", jellyfinPaths},
		{"jellyfin-openapi-12.0.0.json", "jellyfin-12.0.0.json", jellyfinPaths},
		{"emby-openapi-4.8.11.json", "emby-4.8.11.json", embyPaths},
	}
	for _, j := range jobs {
		if err := strip(filepath.Join(*shared, j.in), j.out, j.paths); err != nil {
			fmt.Fprintln(os.Stderr, "strip:", err)
			os.Exit(1)
		}
	}
}

func strip(in, out string, paths []string) error {
	raw, err := os.ReadFile(in)
	if err != nil {
		return fmt.Errorf("read %s: %w", in, err)
	}
	sum := sha256.Sum256(raw)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("decode %s: %w", in, err)
	}
	allPaths, _ := doc["paths"].(map[string]any)
	kept := map[string]any{}
	for _, p := range paths {
		v, ok := allPaths[p]
		if !ok {
			return fmt.Errorf("%s: path %s not in the document; fix the list in strip.go", in, p)
		}
		kept[p] = v
	}
	components, _ := doc["components"].(map[string]any)
	need := map[string]bool{} // "schemas/Name"
	var queue []string
	var walk func(v any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			if ref, ok := t["$ref"].(string); ok && strings.HasPrefix(ref, "#/components/") {
				key := strings.TrimPrefix(ref, "#/components/")
				if !need[key] {
					need[key] = true
					queue = append(queue, key)
				}
			}
			for _, c := range t {
				walk(c)
			}
		case []any:
			for _, c := range t {
				walk(c)
			}
		}
	}
	walk(kept)
	for len(queue) > 0 {
		key := queue[0]
		queue = queue[1:]
		section, name, _ := strings.Cut(key, "/")
		sec, _ := components[section].(map[string]any)
		v, ok := sec[name]
		if !ok {
			return fmt.Errorf("%s: dangling reference #/components/%s", in, key)
		}
		walk(v)
	}
	outComponents := map[string]any{}
	keys := make([]string, 0, len(need))
	for k := range need {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		section, name, _ := strings.Cut(key, "/")
		sec, ok := outComponents[section].(map[string]any)
		if !ok {
			sec = map[string]any{}
			outComponents[section] = sec
		}
		sec[name] = components[section].(map[string]any)[name]
	}
	// Security schemes are referenced by name, not by $ref: keep them all.
	if ss, ok := components["securitySchemes"]; ok {
		outComponents["securitySchemes"] = ss
	}
	result := map[string]any{
		"openapi":    doc["openapi"],
		"info":       doc["info"],
		"paths":      kept,
		"components": outComponents,
	}
	for _, k := range []string{"servers", "security"} {
		if v, ok := doc[k]; ok {
			result[k] = v
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(result); err != nil {
		return fmt.Errorf("encode %s: %w", out, err)
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	fmt.Printf("%s  %s -> %s (%d paths, %d components, %d bytes)\n",
		hex.EncodeToString(sum[:]), filepath.Base(in), out, len(kept), len(need), buf.Len())
	return nil
}
