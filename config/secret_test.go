package config

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func loadEverything(t *testing.T) *Config {
	t.Helper()
	c, err := Load(filepath.Join("testdata", "good", "everything.yaml"), WithLookupEnv(lookupTestEnv))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSecretsNeverPrinted(t *testing.T) {
	c := loadEverything(t)
	if got := c.Backends[1].Token.Value(); got != "SECRET-emby-from-env" {
		t.Fatalf("Value() = %q, want the real token", got)
	}
	jsonOut, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"String":  c.String(),
		"json":    string(jsonOut),
		"%v":      fmt.Sprintf("%v", c),
		"%+v":     fmt.Sprintf("%+v", *c),
		"%#v":     fmt.Sprintf("%#v", *c),
		"%s":      fmt.Sprintf("%s", c.Backends[1].Token),
		"%x":      fmt.Sprintf("%x", c.Backends[1].Token),
		"%q":      fmt.Sprintf("%q", c.Server.APIKey),
		"Print":   fmt.Sprint(c.Backends[0].Token),
		"GoStr":   c.Server.APIKey.GoString(),
		"Error()": (&Error{Path: "x", Msg: fmt.Sprint(c.Backends[2])}).Error(),
	}
	for name, out := range outputs {
		if strings.Contains(out, "SECRET") {
			t.Errorf("%s output leaks a secret: %s", name, out)
		}
		if !strings.Contains(out, redacted) {
			t.Errorf("%s output does not show %s: %s", name, redacted, out)
		}
	}
	if got := fmt.Sprint(Secret{}); got != "" {
		t.Errorf("unset secret prints %q, want empty", got)
	}
}

// TestStringRoundTrips proves String's YAML is the shape Parse reads: the
// output of a full config loads back to the same config, except that a secret
// written inline comes back as the literal "[redacted]".
func TestStringRoundTrips(t *testing.T) {
	c := loadEverything(t)
	// Secrets that came from *_file come back from the same file.
	c.Server.APIKey = Secret{}
	c.Backends[0].Token = Secret{}
	out := c.String()

	got, err := Parse("roundtrip.yaml", []byte(out), WithLookupEnv(noEnv))
	if err != nil {
		t.Fatalf("String output does not load: %v\n%s", err, out)
	}
	want := loadEverything(t)
	want.Backends[1].Token = NewSecret(redacted)
	want.Backends[2].Token = NewSecret(redacted)
	if diff := cmp.Diff(want, got, equateConfigs); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s\n%s", diff, out)
	}
}
