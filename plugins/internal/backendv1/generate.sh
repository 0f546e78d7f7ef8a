#!/bin/sh
# Regenerates backend.pb.go and backend_grpc.pb.go from backend.proto.
#
# Needs, besides the Go toolchain:
#   - Debian's protoc: apt-get install protobuf-compiler (bookworm ships
#     libprotoc 3.21.12, whose version is written into the generated header).
#   - The Go module proxy (GOPROXY), or a module cache that already holds
#     google.golang.org/grpc/cmd/protoc-gen-go-grpc at the version below:
#     it is fetched by `go install ...@version`, as go.mod does not list it.
#     Offline with neither, the script fails at that step.
# The code generators are pinned: protoc-gen-go is built from the
# google.golang.org/protobuf version in go.mod, protoc-gen-go-grpc is the
# version below. Neither is added to go.mod.
set -eu

PROTOC_GEN_GO_GRPC_VERSION=v1.6.2

cd "$(dirname "$0")"
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT

go build -o "$bin/protoc-gen-go" google.golang.org/protobuf/cmd/protoc-gen-go
GOBIN="$bin" GOFLAGS= go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@${PROTOC_GEN_GO_GRPC_VERSION}"

protoc \
	--proto_path=. \
	--plugin=protoc-gen-go="$bin/protoc-gen-go" \
	--plugin=protoc-gen-go-grpc="$bin/protoc-gen-go-grpc" \
	--go_out=. --go_opt=paths=source_relative \
	--go-grpc_out=. --go-grpc_opt=paths=source_relative \
	backend.proto
