// Package api owns keepwatch's HTTP surface: the webhook route
// (POST|PUT /webhook/{token}), the management API under /api/v1, Prometheus
// metrics at /metrics, and the health endpoints /healthz and /readyz.
//
// Only health exists so far: Health answers /healthz while the process is
// alive and /readyz while every named readiness check passes.
package api
