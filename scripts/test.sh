#!/usr/bin/env bash
# Runs every test of quorumlock, as CI does, for every Go module of the
# repository (the library's, and each nested one such as integration/):
#   1. gofmt; go vet and staticcheck with and without the integration tag;
#   2. the unit tests with the race detector (no Docker needed);
#   3. the five-node Redis cluster from docker-compose.yml (building the Redis
#      image from Debian's redis-server package when none can be pulled), the
#      integration suite, the chaos run's short profile (scripts/chaos.sh) and
#      the command's cluster tests against it, and the cluster's removal, even
#      on failure.
#
# Usage: scripts/test.sh [--unit]     --unit stops after step 2.
#
# Each step says what it runs, prints a line every 25 seconds while it runs
# and how long it took; a summary of the steps ends the run. The long tests
# print their own progress every 20 seconds. A failed step does not stop the
# run, so that one run shows every failure; the exit status is 1 if any step
# failed. The cluster steps are not run if the cluster did not start.
#
# In the integration step a missing Docker engine or an unreachable cluster is
# a failure, never a skip (REDLOCK_REQUIRE_CLUSTER=1).
#
# Environment (see scripts/cluster.sh): COMPOSE_PROJECT_NAME and
# REDLOCK_CLUSTER_PORT_BASE choose the cluster's compose project and ports, so
# that two checkouts can test side by side; the suites read them too.
# CHAOS_SEED (default 1) is the chaos run's seed.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_DIR"
export PATH="$PATH:/usr/local/go/bin"

STATICCHECK_PKG="honnef.co/go/tools/cmd/staticcheck@v0.8.2"
BEAT=25 # seconds between "still running" lines

unit_only=0
case "${1:-}" in
"") ;;
--unit) unit_only=1 ;;
*)
	printf 'usage: scripts/test.sh [--unit]\n' >&2
	exit 2
	;;
esac

T0=$(date +%s)
SUMMARY=()
FAILED=0
TOOLS=""
cluster_started=0

since() { # since EPOCH: minutes and seconds from EPOCH to now
	local s=$(($(date +%s) - $1))
	printf '%dm%02ds' $((s / 60)) $((s % 60))
}

# finish runs on every exit: removes the cluster if this run started it,
# removes the tools directory and prints the summary.
finish() {
	local rc=$?
	[[ "$BASHPID" == "$$" ]] || return 0 # not in a subshell, such as a step's heartbeat
	if [[ "$cluster_started" == 1 ]]; then
		printf '\n== removing the cluster (project %s)\n' "${COMPOSE_PROJECT_NAME:-quorumlock}"
		"$REPO_DIR/scripts/cluster.sh" down || printf 'test.sh: removing the cluster failed\n' >&2
	fi
	[[ -z "$TOOLS" ]] || rm -rf "$TOOLS"
	printf '\n== summary\n'
	local line
	for line in "${SUMMARY[@]}"; do
		printf '   %s\n' "$line"
	done
	if [[ "$rc" == 0 && "$FAILED" == 0 ]]; then
		printf 'test.sh: PASS in %s\n' "$(since "$T0")"
	else
		printf 'test.sh: FAIL (%d failed steps) after %s\n' "$FAILED" "$(since "$T0")"
		[[ "$rc" != 0 ]] || exit 1
	fi
}
trap finish EXIT

# step WHAT COMMAND...: says what runs, prints a line every $BEAT seconds
# while it runs and how long it took; returns the command's status, and
# records a failure for the summary and the exit status.
step() {
	local what="$1"
	shift
	local start beat rc=0
	start=$(date +%s)
	printf '\n== %s\n   $ %s\n' "$what" "$*"
	(
		trap 'kill "$s" 2>/dev/null; exit 0' TERM
		while :; do
			sleep "$BEAT" &
			s=$!
			wait "$s"
			printf '   ... still at: %s (%s)\n' "$what" "$(since "$start")"
		done
	) &
	beat=$!
	"$@" || rc=$?
	kill "$beat" 2>/dev/null || true
	wait "$beat" 2>/dev/null || true
	if [[ "$rc" != 0 ]]; then
		FAILED=$((FAILED + 1))
		SUMMARY+=("FAIL $(since "$start")  $what")
		printf '== FAILED after %s (exit status %d): %s\n' "$(since "$start")" "$rc" "$what" >&2
		return "$rc"
	fi
	SUMMARY+=("ok   $(since "$start")  $what")
	printf '   done in %s\n' "$(since "$start")"
}

# in_dir DIR COMMAND...: runs COMMAND in DIR.
in_dir() {
	local dir="$1"
	shift
	(cd "$dir" && "$@")
}

# has_packages DIR [go list flags]: whether the module in DIR has packages to
# build with those flags (integration/ has none without its tag).
has_packages() {
	local dir="$1"
	shift
	[[ -n "$(cd "$dir" && go list "$@" ./... 2>/dev/null)" ]]
}

gofmt_check() {
	local unformatted
	unformatted="$(gofmt -l .)"
	if [[ -n "$unformatted" ]]; then
		printf 'not gofmt-formatted:\n%s\n' "$unformatted" >&2
		return 1
	fi
}

# Every directory holding a go.mod, the root first.
MODULES=()
while IFS= read -r mod; do
	MODULES+=("$(dirname "$mod")")
done < <(find . -name go.mod -not -path '*/.*' -not -path '*/testdata/*' | sort)

printf '== quorumlock tests: %s; modules: %s\n' "$(go version)" "${MODULES[*]}"

# install_redis installs Debian's redis-server package when it is missing:
# unit tests start real redis-server processes (conformance of the backends,
# node vetting, benchmarks), and the cluster's image is built from it.
install_redis() {
	command -v redis-server >/dev/null 2>&1 && return 0
	local sudo=()
	[[ "$(id -u)" == 0 ]] || sudo=(sudo)
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends redis-server redis-tools ||
		{ "${sudo[@]}" apt-get update -q && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends redis-server redis-tools; }
	# Debian starts the packaged service; the tests start servers of their own.
	"${sudo[@]}" systemctl stop redis-server 2>/dev/null || "${sudo[@]}" service redis-server stop 2>/dev/null || true
}
step "redis-server for the unit tests (Debian package)" install_redis || true
export REDLOCK_REQUIRE_REDIS=1 # a missing redis-server fails the tests that need it

step "gofmt" gofmt_check || true

for mod in "${MODULES[@]}"; do
	if has_packages "$mod"; then
		step "go vet, module $mod" in_dir "$mod" go vet ./... || true
	fi
	step "go vet -tags integration, module $mod" in_dir "$mod" go vet -tags integration ./... || true
done

TOOLS="$(mktemp -d "${TMPDIR:-/tmp}/quorumlock-tools.XXXXXX")"
if step "build staticcheck ($STATICCHECK_PKG)" env GOBIN="$TOOLS" go install "$STATICCHECK_PKG"; then
	for mod in "${MODULES[@]}"; do
		if has_packages "$mod"; then
			step "staticcheck, module $mod" in_dir "$mod" "$TOOLS/staticcheck" ./... || true
		fi
		step "staticcheck -tags integration, module $mod" \
			in_dir "$mod" "$TOOLS/staticcheck" -tags integration ./... || true
	done
fi

for mod in "${MODULES[@]}"; do
	if has_packages "$mod"; then
		step "unit tests (race detector), module $mod" in_dir "$mod" go test -race -count=1 -timeout 20m ./... || true
	else
		SUMMARY+=("--   module $mod has no tests without the integration tag")
	fi
done

if [[ "$unit_only" == 1 ]]; then
	exit 0
fi

step "the redlock image (FROM scratch)" "$REPO_DIR/scripts/docker-image.sh" || true

cluster_started=1 # from here on, finish removes it whatever happens
if step "start the five-node cluster" "$REPO_DIR/scripts/cluster.sh" up; then
	export REDLOCK_REQUIRE_CLUSTER=1
	# Tests run from their package's directory with no package argument, so
	# that go test streams their progress lines instead of holding them to
	# the end.
	step "integration suite against the cluster (race detector)" \
		in_dir integration go test -race -count=1 -timeout 30m -tags integration || true
	step "chaos run against the cluster: short in-model profile, seed ${CHAOS_SEED:-1} (race detector)" \
		"$REPO_DIR/scripts/chaos.sh" || true
	step "the redlock command against the cluster (race detector)" \
		in_dir cmd/redlock go test -race -count=1 -timeout 10m -tags integration -run '^TestCluster' || true
else
	SUMMARY+=("--   the cluster did not start: its tests were not run")
fi
