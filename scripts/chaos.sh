#!/usr/bin/env bash
# Runs the chaos program (integration/chaos) against the five-node cluster:
# clients contend for a few locks while a nemesis injects faults on a seeded
# schedule, and a history checker judges every grant (see docs/testing.md,
# "Chaos run").
#
# Usage: scripts/chaos.sh [--long] [--up] [--seed N] [-- PROGRAM FLAGS...]
#   (default)  the short in-model profile: about two minutes, the program
#              built with the race detector, as scripts/test.sh runs it
#   --long     the long profile: 20 minutes and at least 10,000 grants,
#              without the race detector
#   --up       start the cluster first (scripts/cluster.sh up) and remove it
#              at the end, whatever happened
#   --seed N   the seed that decides the schedule (default $CHAOS_SEED, else 1)
#   -- ...     further flags for the program, e.g. -- -fault clock-step to run
#              one out-of-model fault (go run ./chaos -h in integration/ lists
#              them all)
#
# The summary goes to stdout, progress to stderr (a line every 15 seconds),
# the record to $CHAOS_RECORD (default ${TMPDIR:-/tmp}/quorumlock-chaos-
# <profile>-<seed>.json). The exit status is the program's: 0 as expected,
# 1 violations, 2 bad flags, 3 the run could not be carried out.
#
# Environment: COMPOSE_PROJECT_NAME and REDLOCK_CLUSTER_PORT_BASE choose the
# cluster, as for scripts/cluster.sh.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$PATH:/usr/local/go/bin"

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
}

profile=short
up=0
seed="${CHAOS_SEED:-1}"
extra=()
while (($# > 0)); do
	case "$1" in
	--long) profile=long ;;
	--up) up=1 ;;
	--seed)
		[[ $# -ge 2 ]] || {
			printf 'chaos.sh: --seed needs a number\n' >&2
			exit 2
		}
		seed="$2"
		shift
		;;
	--)
		shift
		extra=("$@")
		break
		;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		printf 'chaos.sh: unknown argument %q (try --help)\n' "$1" >&2
		exit 2
		;;
	esac
	shift
done
[[ "$seed" =~ ^-?[0-9]+$ ]] || {
	printf 'chaos.sh: --seed %q: want an integer\n' "$seed" >&2
	exit 2
}

WORK="$(mktemp -d "${TMPDIR:-/tmp}/quorumlock-chaos.XXXXXX")"
# shellcheck disable=SC2317 # run by the trap
cleanup() {
	rm -rf "$WORK"
	if [[ "$up" == 1 ]]; then
		"$REPO_DIR/scripts/cluster.sh" down || printf 'chaos.sh: removing the cluster failed\n' >&2
	fi
}
trap cleanup EXIT

if [[ "$up" == 1 ]]; then
	"$REPO_DIR/scripts/cluster.sh" up || exit 3
fi

race=()
[[ "$profile" == long ]] || race=(-race)
printf 'chaos.sh: building the chaos program %s\n' "${race[*]:-}" >&2
(cd "$REPO_DIR/integration" && go build "${race[@]}" -o "$WORK/chaos" ./chaos) || exit 3

# An out-of-model fault runs its own scenario, with no profile.
what=(-profile "$profile")
name="$profile-$seed"
for ((i = 0; i < ${#extra[@]}; i++)); do
	case "${extra[$i]}" in
	-fault | --fault)
		what=()
		name="${extra[$((i + 1))]:-fault}"
		;;
	-fault=* | --fault=*)
		what=()
		name="${extra[$i]#*=}"
		;;
	esac
done
record="${CHAOS_RECORD:-${TMPDIR:-/tmp}/quorumlock-chaos-$name.json}"
rc=0
"$WORK/chaos" "${what[@]}" -seed "$seed" -json "$record" "${extra[@]}" || rc=$?
exit "$rc"
