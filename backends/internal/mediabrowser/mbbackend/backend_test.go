package mbbackend

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keepwatch/keepwatch/backends/internal/mediabrowser/client"
	"github.com/keepwatch/keepwatch/plugins"
)

func TestConfigureNamesTheBadField(t *testing.T) {
	b := New(plugins.Env{}, Dialect{Type: "jellyfin", Flavor: client.Jellyfin, Version: "1"})
	ok := plugins.Config{Name: "j", URL: "http://j:8096", Token: "k"}
	if err := b.Configure(context.Background(), ok); err != nil {
		t.Fatal(err)
	}
	for field, cfg := range map[string]plugins.Config{
		"url":                 {URL: "j:8096", Token: "k"},
		"token":               {URL: "http://j", Token: " "},
		"options.page_size":   {URL: "http://j", Token: "k", Options: map[string]string{"page_size": "10001"}},
		"options.concurrency": {URL: "http://j", Token: "k", Options: map[string]string{"concurrency": "x"}},
		"options.timeout":     {URL: "http://j", Token: "k", Options: map[string]string{"timeout": "1ms"}},
		"options.pagesize":    {URL: "http://j", Token: "k", Options: map[string]string{"pagesize": "1"}},
	} {
		var ce *plugins.ConfigError
		if err := b.Configure(context.Background(), cfg); !errors.As(err, &ce) || ce.Field != field {
			t.Errorf("%s: %v", field, err)
		}
	}
	if _, err := b.Client(); err != nil {
		t.Errorf("a refused configuration dropped the previous one: %v", err)
	}
}

func TestLibraries(t *testing.T) {
	views := []client.Item{
		{ID: "a1", Name: "Movies", CollectionType: "movies"},
		{ID: "b2", Name: "Shows", CollectionType: "tvshows"},
		{ID: "c3", Name: "Music", CollectionType: "music"},
		{ID: "d4", Name: "Mixed"},
		{ID: "e5", Name: "Collections", CollectionType: "boxsets"},
	}
	names := func(f plugins.LibraryFilter) []string {
		var out []string
		for _, v := range Libraries(views, f) {
			out = append(out, v.Name)
		}
		return out
	}
	if diff := cmp.Diff([]string{"Movies", "Shows", "Mixed"}, names(plugins.LibraryFilter{})); diff != "" {
		t.Errorf("default (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Shows"}, names(plugins.LibraryFilter{Include: []string{"A1", "shows"}, Exclude: []string{"a1"}})); diff != "" {
		t.Errorf("include/exclude (-want +got):\n%s", diff)
	}
}
