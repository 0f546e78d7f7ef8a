package plugintest_test

import (
	"testing"
	"time"

	"github.com/keepwatch/keepwatch/plugins"
	"github.com/keepwatch/keepwatch/plugins/internal/memback"
	"github.com/keepwatch/keepwatch/plugins/plugintest"
)

func memConfig(*testing.T) plugins.Config {
	return plugins.Config{Name: "mem", Type: memback.Type, URL: "mem://suite", Options: map[string]string{memback.OptItems: "12", memback.OptPageSize: "5"}}
}

func TestSuiteOnFullBackend(t *testing.T) {
	plugintest.Run(t, plugintest.Suite{
		Factory: memback.New,
		Config:  memConfig,
		BadConfigs: map[string]plugins.Config{
			"wrong scheme":       {Name: "mem", Type: memback.Type, URL: "http://suite"},
			"items not a number": {Name: "mem", Type: memback.Type, URL: "mem://suite", Options: map[string]string{memback.OptItems: "many"}},
		},
		Webhooks: map[string]plugins.WebhookRequest{
			"watched":  {Method: "POST", Body: []byte(`{"event":"watched","server_id":"mem-suite","account_id":"a1","item_id":"i1"}`), ReceivedAt: time.Now()},
			"progress": {Method: "POST", Body: []byte(`{"event":"progress","account_id":"a1","item_id":"i2","position_ms":60000}`), ReceivedAt: time.Now()},
			"test":     {Method: "POST", Body: []byte(`{"event":"test"}`)},
		},
		Garbage: map[string]plugins.WebhookRequest{
			"no event": {Method: "POST", Body: []byte(`{"account_id":"a1"}`)},
		},
	})
}

// importOnly is memback with only Backend and Importer.
type importOnly struct {
	plugins.Backend
	plugins.Importer
}

func TestSuiteOnImportOnlyBackend(t *testing.T) {
	plugintest.Run(t, plugintest.Suite{
		Factory: func(env plugins.Env) plugins.Backend {
			b := memback.New(env).(*memback.Backend)
			return importOnly{b, b}
		},
		Config: memConfig,
	})
}

// exportOnly is memback with only Backend and Exporter: the suite must
// take its writes from Suite.Writes.
type exportOnly struct {
	plugins.Backend
	plugins.Exporter
}

func TestSuiteOnExportOnlyBackend(t *testing.T) {
	plugintest.Run(t, plugintest.Suite{
		Factory: func(env plugins.Env) plugins.Backend {
			b := memback.New(env).(*memback.Backend)
			return exportOnly{b, b}
		},
		Config: memConfig,
		Writes: []plugins.Write{
			{AccountID: "a1", ItemID: "i0", Kind: plugins.WriteUnwatched},
			{AccountID: "a1", ItemID: "i1", Kind: plugins.WriteProgress, Progress: time.Minute},
		},
	})
}
