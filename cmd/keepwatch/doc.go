// Command keepwatch is the keepwatch daemon and its command line: serve runs
// the daemon, init writes a starter keepwatch.yaml, version prints the build.
//
// This package is wiring and lifecycle only: it loads the configuration,
// opens what serve needs, starts the services and stops them on SIGINT or
// SIGTERM. Behaviour lives in the packages it wires.
//
// Exit status: 0 success, 1 runtime failure, 2 invalid configuration or
// usage.
package main
