#!/usr/bin/env bash
# Runs every test of quorumlock, as CI does:
#   1. gofmt, go vet and staticcheck on all code, integration tests included;
#   2. the unit tests with the race detector (no Docker needed);
#   3. the five-node Redis cluster from docker-compose.yml (building the Redis
#      image from Debian's redis-server package when none can be pulled), the
#      integration suite and the command's cluster tests against it, and the
#      cluster's removal, even on failure.
#
# Usage: scripts/test.sh [--unit]     --unit stops after step 2.
#
# In the integration step a missing Docker engine or an unreachable cluster is
# a failure, never a skip (REDLOCK_REQUIRE_CLUSTER=1).
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_DIR"
export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin"

STATICCHECK="honnef.co/go/tools/cmd/staticcheck@v0.8.2"
unit_only=0
[[ "${1:-}" == "--unit" ]] && unit_only=1

step() { printf '\n== %s\n' "$*"; }

step "gofmt"
unformatted="$(gofmt -l .)"
if [[ -n "$unformatted" ]]; then
	printf 'not gofmt-formatted:\n%s\n' "$unformatted" >&2
	exit 1
fi

step "go vet"
go vet ./...
go vet -tags integration ./...
(cd integration && go vet -tags integration ./...)

step "staticcheck"
go run "$STATICCHECK" ./...
go run "$STATICCHECK" -tags integration ./...
(cd integration && go run "$STATICCHECK" -tags integration ./...)

step "unit tests (race detector)"
go test -race -count=1 ./...

if [[ "$unit_only" == 1 ]]; then
	exit 0
fi

step "five-node cluster"
cleanup() { "$REPO_DIR/scripts/cluster.sh" down || true; }
trap cleanup EXIT
"$REPO_DIR/scripts/cluster.sh" up

step "integration tests (race detector)"
export REDLOCK_REQUIRE_CLUSTER=1
(cd integration && go test -race -count=1 -timeout 20m -tags integration ./...)

step "the redlock command against the cluster"
go test -race -count=1 -timeout 5m -tags integration -run '^TestCluster' ./cmd/redlock
