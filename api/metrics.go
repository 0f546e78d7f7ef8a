package api

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/keepwatch/keepwatch/core/engine"
	"github.com/keepwatch/keepwatch/core/store"
	"github.com/keepwatch/keepwatch/plugins/host"
)

// Metrics is keepwatch's Prometheus registry. Counters are fed by the
// webhook route and the pipeline's hooks; depths, records, task runs and
// plugin restarts are read from their owners at scrape time, so they are
// right after a restart too.
type Metrics struct {
	reg        *prometheus.Registry
	deliveries *prometheus.CounterVec
	invalid    prometheus.Counter
	pushes     *prometheus.CounterVec
}

// MetricsSources are what the scrape-time collectors read.
type MetricsSources struct {
	Store *store.Store
	// Plugins returns the plugin processes' statuses; nil when no host.
	Plugins func() []host.Status
	Logger  zerolog.Logger
}

// NewMetrics builds the registry.
func NewMetrics(src MetricsSources) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "keepwatch_webhook_deliveries_total",
			Help: "Webhook deliveries processed, by backend and outcome (applied, ignored, rejected, unmatched)."}, []string{"backend", "outcome"}),
		invalid: prometheus.NewCounter(prometheus.CounterOpts{Name: "keepwatch_webhook_invalid_tokens_total",
			Help: "Webhook requests with an unknown token (answered like valid ones, never stored)."}),
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "keepwatch_pushes_total",
			Help: "Writes pushed to backends, by backend and result (written, failed, retried)."}, []string{"backend", "result"}),
	}
	m.reg.MustRegister(m.deliveries, m.invalid, m.pushes,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&scrapeCollector{src: src})
	return m
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Delivery counts one delivery's outcome (a pipeline hook).
func (m *Metrics) Delivery(backend, outcome string) {
	m.deliveries.WithLabelValues(backend, outcome).Inc()
}

// InvalidToken counts one request with an unknown token.
func (m *Metrics) InvalidToken() { m.invalid.Inc() }

// Push counts one drain's results (a pipeline hook).
func (m *Metrics) Push(backend string, res engine.DrainResult) {
	m.pushes.WithLabelValues(backend, "written").Add(float64(res.Written))
	m.pushes.WithLabelValues(backend, "failed").Add(float64(res.Failed))
	m.pushes.WithLabelValues(backend, "retried").Add(float64(res.Retried))
}

var (
	descInbox    = prometheus.NewDesc("keepwatch_inbox_depth", "Webhook deliveries waiting to be processed.", nil, nil)
	descOutbox   = prometheus.NewDesc("keepwatch_outbox_depth", "Writes queued per target backend.", []string{"backend"}, nil)
	descRecords  = prometheus.NewDesc("keepwatch_records", "Records (user × item) in the store.", nil, nil)
	descRuns     = prometheus.NewDesc("keepwatch_task_runs", "Runs in the run history, by kind and status.", []string{"kind", "status"}, nil)
	descDuration = prometheus.NewDesc("keepwatch_task_last_duration_seconds", "Duration of the last finished run of each kind.", []string{"kind"}, nil)
	descRestarts = prometheus.NewDesc("keepwatch_plugin_restarts_total", "Restarts of each backend's plugin process.", []string{"backend"}, nil)
	descPlugUp   = prometheus.NewDesc("keepwatch_plugin_ready", "1 when the backend's plugin process is ready.", []string{"backend"}, nil)
)

// runHistoryScan bounds how many runs a scrape reads.
const runHistoryScan = 1000

type scrapeCollector struct{ src MetricsSources }

func (c *scrapeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descInbox, descOutbox, descRecords, descRuns, descDuration, descRestarts, descPlugUp} {
		ch <- d
	}
}

func (c *scrapeCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.src.Store
	warn := func(what string, err error) { c.src.Logger.Warn().Err(err).Str("metric", what).Msg("collect metric") }
	if n, err := st.InboxDepth(); err == nil {
		ch <- prometheus.MustNewConstMetric(descInbox, prometheus.GaugeValue, float64(n))
	} else {
		warn("inbox", err)
	}
	if depths, err := st.OutboxDepths(); err == nil {
		for b, n := range depths {
			ch <- prometheus.MustNewConstMetric(descOutbox, prometheus.GaugeValue, float64(n), b)
		}
	} else {
		warn("outbox", err)
	}
	if n, err := st.CountRecords(); err == nil {
		ch <- prometheus.MustNewConstMetric(descRecords, prometheus.GaugeValue, float64(n))
	} else {
		warn("records", err)
	}
	if runs, err := st.ListRuns(runHistoryScan); err == nil {
		type key struct{ kind, status string }
		counts := map[key]int{}
		last := map[string]time.Duration{}
		for _, r := range runs { // newest first
			counts[key{r.Kind, r.Status}]++
			if _, seen := last[r.Kind]; !seen && !r.EndedAt.IsZero() {
				last[r.Kind] = r.EndedAt.Sub(r.StartedAt)
			}
		}
		for k, n := range counts {
			ch <- prometheus.MustNewConstMetric(descRuns, prometheus.GaugeValue, float64(n), k.kind, k.status)
		}
		for kind, d := range last {
			ch <- prometheus.MustNewConstMetric(descDuration, prometheus.GaugeValue, d.Seconds(), kind)
		}
	} else {
		warn("runs", err)
	}
	if c.src.Plugins != nil {
		for _, s := range c.src.Plugins() {
			ch <- prometheus.MustNewConstMetric(descRestarts, prometheus.CounterValue, float64(s.Restarts), s.Name)
			ready := 0.0
			if s.State == host.StateReady {
				ready = 1
			}
			ch <- prometheus.MustNewConstMetric(descPlugUp, prometheus.GaugeValue, ready, s.Name)
		}
	}
}
