#!/usr/bin/env bash
# Measures what runs of the redlock command leave on a Redis server: it
# starts a redis-server of its own (Debian's package, appendonly yes) on a
# free loopback port, runs `redlock run --wait 5s job -- true` RUNS times
# against it (and as many with --fence on a distinct name each), and prints
# a Markdown table of the server's script cache, Lua memory, keys and
# memory before and after, with the date, the machine and this command.
#
# Usage: scripts/server-state.sh [--runs N] [--rev REV]
#   --runs N   runs of each kind (default 1000)
#   --rev REV  build the command from the commit REV (a git worktree,
#              removed at the end) instead of the working tree, to measure
#              an earlier version the same way
#
# It waits until the server has been up for longer than the restart
# quarantine of the default 10s ttl before the first run, prints a line
# every 100 runs, and stops the server it started, even on failure.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$PATH:/usr/local/go/bin"
runs=1000
rev=""
while (($# > 0)); do
	case "$1" in
	--runs)
		runs="${2:?--runs needs a number}"
		shift
		;;
	--rev)
		rev="${2:?--rev needs a commit}"
		shift
		;;
	-h | --help)
		sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
		exit 0
		;;
	*)
		printf 'server-state.sh: unknown argument %s\n' "$1" >&2
		exit 2
		;;
	esac
	shift
done
[[ "$runs" =~ ^[0-9]+$ ]] || {
	printf 'server-state.sh: --runs must be a number, got %s\n' "$runs" >&2
	exit 2
}

work="$(mktemp -d "${TMPDIR:-/tmp}/quorumlock-server-state.XXXXXX")"
server_pid=""
worktree=""
cleanup() {
	[[ -z "$server_pid" ]] || kill "$server_pid" 2>/dev/null || true
	[[ -z "$server_pid" ]] || wait "$server_pid" 2>/dev/null || true
	[[ -z "$worktree" ]] || git -C "$REPO_DIR" worktree remove --force "$worktree" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

src="$REPO_DIR"
if [[ -n "$rev" ]]; then
	worktree="$work/src"
	git -C "$REPO_DIR" worktree add -q --detach "$worktree" "$rev"
	src="$worktree"
fi
(cd "$src" && go build -o "$work/redlock" ./cmd/redlock)
commit="$(git -C "$src" rev-parse --short HEAD)"

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
redis-server --port "$port" --bind 127.0.0.1 --save '' --dir "$work" --appendonly yes \
	--appendfsync always --logfile "$work/redis.log" &
server_pid=$!
cli() { redis-cli -p "$port" "$@"; }
for _ in $(seq 100); do
	cli PING >/dev/null 2>&1 && break
	sleep 0.1
done
field() { cli INFO "$1" | tr -d '\r' | sed -n "s/^$2://p"; }
until (($(field server uptime_in_seconds) > 11)); do
	sleep 1
done

export REDLOCK_NODES="redis://127.0.0.1:$port"
row() {
	printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$(field memory number_of_cached_scripts)" \
		"$(field memory used_memory_scripts)" "$(field memory used_memory_vm_eval)" "$(cli DBSIZE)" \
		"$(field memory used_memory)"
}
table=("| after | cached scripts | script memory (B) | Lua memory (B) | keys | used_memory (B) |"
	"|---|---|---|---|---|---|")
table+=("$(row "nothing")")
for kind in plain fenced; do
	for i in $(seq "$runs"); do
		if [[ "$kind" == plain ]]; then
			"$work/redlock" run --wait 5s job -- true
		else
			"$work/redlock" run --wait 5s --fence "job-$i" -- true
		fi
		((i % 100 == 0)) && printf 'server-state.sh: %s runs: %d of %d\n' "$kind" "$i" "$runs" >&2
	done
	table+=("$(row "$runs runs, $kind")")
done

printf '%s, %s, %s cores; redis-server %s; the command built at %s.\n' "$(date -u +%Y-%m-%d)" \
	"$(uname -sm)" "$(nproc)" "$(field server redis_version)" "$commit"
printf 'Command: scripts/server-state.sh --runs %s%s\n\n' "$runs" "${rev:+ --rev $rev}"
printf '%s\n' "${table[@]}"
