#!/usr/bin/env bash
# Lints and tests every Go module nested in the repository (backend/goredis,
# backend/rueidis, and any other go.mod below the root but integration/),
# which `go vet ./...` and `go test ./...` at the root do not reach: in each,
# gofmt, go vet, staticcheck and the tests with the race detector, one line
# per step.
#
# Usage: scripts/test-modules.sh
#
# The backends' conformance suite starts redis-server processes; without
# redis-server it skips that half, unless REDLOCK_REQUIRE_REDIS=1 (as CI
# should set), which makes it fail.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_DIR"
gopath_bin="$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin"
export PATH="$PATH:/usr/local/go/bin:$gopath_bin"

STATICCHECK="honnef.co/go/tools/cmd/staticcheck@v0.8.2"

current=""
trap 'if [[ -n "$current" ]]; then printf "FAILED: %s\n" "$current" >&2; fi' EXIT

step() {
	current="$*"
	printf '== %s\n' "$current"
}

mapfile -t modules < <(find . -name go.mod -not -path ./go.mod \
	-not -path './integration/*' -not -path '*/testdata/*' -not -path './.git/*' \
	-printf '%h\n' | sed 's|^\./||' | sort)
if [[ ${#modules[@]} -eq 0 ]]; then
	echo "no nested modules"
	exit 0
fi

for dir in "${modules[@]}"; do
	step "$dir: gofmt"
	unformatted="$(cd "$dir" && gofmt -l .)"
	if [[ -n "$unformatted" ]]; then
		printf 'not gofmt-formatted in %s:\n%s\n' "$dir" "$unformatted" >&2
		exit 1
	fi
	step "$dir: go vet"
	(cd "$dir" && go vet ./...)
	step "$dir: staticcheck"
	(cd "$dir" && go run "$STATICCHECK" ./...)
	step "$dir: go test -race"
	(cd "$dir" && go test -race -count=1 ./...)
done
current=""
printf '== %d nested modules passed: %s\n' "${#modules[@]}" "${modules[*]}"
