#!/usr/bin/env bash
# Manage the five-node Redis test cluster defined in docker-compose.yml.
#
# Usage: scripts/cluster.sh up|down|status|wait
#   up      pick or build the Redis image, start redis1..redis5 and wait
#           until all five answer PING on 127.0.0.1 (ports 7001..7005 unless
#           REDLOCK_CLUSTER_PORT_BASE says otherwise)
#   down    remove the project's containers, network and named volumes
#   status  show the containers and whether each node answers PING
#   wait    wait until all five nodes answer PING
#
# Environment:
#   COMPOSE_PROJECT_NAME  compose project name (default quorumlock): lower-case
#                         letters, digits, '-' and '_'
#   REDLOCK_CLUSTER_PORT_BASE
#                         loopback port of redis1 (default 7001); redis2..5
#                         take the next four. Exported to compose as
#                         REDLOCK_CLUSTER_PORT1..5. The integration suite and
#                         the command's cluster tests read the same variables,
#                         so a second checkout can run its cluster beside the
#                         first with another project name and base.
#   REDIS_IMAGE           image to run. Unset: the official redis:7.2 if it is
#                         present, else quorumlock/redis:7-local if present,
#                         else pull redis:7.2, else build
#                         quorumlock/redis:7-local from Debian's redis-server
#                         package (rebuilt when present with another version
#                         of the clock shim, see build-redis-image.sh). Set: used if present or pullable, otherwise
#                         built locally under that tag.
#   REDIS_PULL            0 to never try `docker pull` (default 1)
#   CLUSTER_WAIT_TIMEOUT  seconds to wait for the nodes (default 60)
#   REDIS_HEALTH_INTERVAL compose healthcheck interval (default 1s)
#
# Only containers, networks and volumes of this compose project are touched.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/.." && pwd)"
COMPOSE_FILE="$REPO_DIR/docker-compose.yml"

PUBLIC_IMAGE="redis:7.2"
LOCAL_IMAGE="quorumlock/redis:7-local"
HOST="127.0.0.1"
SERVICES=(redis1 redis2 redis3 redis4 redis5)
WAIT_TIMEOUT="${CLUSTER_WAIT_TIMEOUT:-60}"
PULL="${REDIS_PULL:-1}"

log() { printf '[cluster] %s\n' "$*" >&2; }
die() {
	printf '[cluster] ERROR: %s\n' "$*" >&2
	exit 1
}

# The project name and ports, by the rules of internal/compose (Go), which
# the test suites use: blank means the default, anything malformed is an
# error naming the variable.
PROJECT="${COMPOSE_PROJECT_NAME:-}"
[[ -n "${PROJECT//[[:space:]]/}" ]] || PROJECT=quorumlock
[[ "$PROJECT" =~ ^[a-z0-9][a-z0-9_-]*$ ]] ||
	die "COMPOSE_PROJECT_NAME=\"$PROJECT\": a compose project name is lower-case letters, digits, '-' and '_', starting with a letter or digit"
export COMPOSE_PROJECT_NAME="$PROJECT"

PORT_BASE="${REDLOCK_CLUSTER_PORT_BASE:-}"
[[ -n "${PORT_BASE//[[:space:]]/}" ]] || PORT_BASE=7001
if ! [[ "$PORT_BASE" =~ ^0*[0-9]{1,5}$ ]] || ((10#$PORT_BASE < 1 || 10#$PORT_BASE > 65531)); then
	die "REDLOCK_CLUSTER_PORT_BASE=\"$PORT_BASE\": want the port of redis1, a number from 1 to 65531 (the five nodes take it and the next four)"
fi
PORTS=()
for i in "${!SERVICES[@]}"; do
	port=$((10#$PORT_BASE + i))
	var="REDLOCK_CLUSTER_PORT$((i + 1))"
	# Set by hand to something else, the compose file and the test suites
	# would disagree on where the node is.
	if [[ -n "${!var:-}" && "${!var}" != "$port" ]]; then
		die "$var=${!var} disagrees with REDLOCK_CLUSTER_PORT_BASE=$PORT_BASE (which puts ${SERVICES[$i]} on $port); set only the base"
	fi
	export "$var=$port"
	PORTS+=("$port")
done

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
}

COMPOSE=()

require_docker() {
	command -v docker >/dev/null 2>&1 || die "docker command not found"
	docker info >/dev/null 2>&1 ||
		die "cannot reach the Docker engine (is dockerd running, and may this user use it?)"
	[[ -f "$COMPOSE_FILE" ]] || die "compose file not found: $COMPOSE_FILE"
	if docker compose version >/dev/null 2>&1; then
		COMPOSE=(docker compose)
	elif command -v docker-compose >/dev/null 2>&1; then
		COMPOSE=(docker-compose)
	else
		die "neither 'docker compose' nor 'docker-compose' is available"
	fi
}

compose() {
	"${COMPOSE[@]}" --project-name "$PROJECT" --file "$COMPOSE_FILE" "$@"
}

image_present() { docker image inspect "$1" >/dev/null 2>&1; }

try_pull() {
	[[ "$PULL" != "0" ]] || return 1
	log "pulling $1"
	docker pull "$1" >&2
}

build_local() {
	log "building $1 from Debian's redis-server package"
	REDIS_IMAGE="$1" "$SCRIPT_DIR/build-redis-image.sh" >/dev/null
}

# Decide which image compose runs and export it as REDIS_IMAGE.
resolve_image() {
	local img
	if [[ -n "${REDIS_IMAGE:-}" ]]; then
		img="$REDIS_IMAGE"
		if ! image_present "$img" && ! try_pull "$img"; then
			log "image $img is not present and cannot be pulled"
			build_local "$img"
		fi
	elif image_present "$PUBLIC_IMAGE"; then
		img="$PUBLIC_IMAGE"
	elif image_present "$LOCAL_IMAGE"; then
		img="$LOCAL_IMAGE"
		# Rebuilt only if its clock shim is not the current one.
		REDIS_IMAGE="$img" "$SCRIPT_DIR/build-redis-image.sh" >/dev/null
	elif try_pull "$PUBLIC_IMAGE"; then
		img="$PUBLIC_IMAGE"
	else
		log "$PUBLIC_IMAGE is not present and cannot be pulled"
		img="$LOCAL_IMAGE"
		build_local "$img"
	fi
	image_present "$img" || die "image $img is still missing"
	export REDIS_IMAGE="$img"
	log "using image $REDIS_IMAGE"
}

# Send PING over a plain TCP connection and expect +PONG (no client needed).
ping_node() {
	local port="$1"
	(
		exec 3<>"/dev/tcp/$HOST/$port" || exit 1
		printf 'PING\r\n' >&3
		IFS= read -r -t 2 reply <&3 || exit 1
		[[ "$reply" == "+PONG"* ]]
	) 2>/dev/null
}

wait_nodes() {
	local deadline=$((SECONDS + WAIT_TIMEOUT))
	local i pending
	log "waiting up to ${WAIT_TIMEOUT}s for ${#PORTS[@]} nodes on $HOST:${PORTS[0]}..${PORTS[-1]}"
	while :; do
		pending=()
		for i in "${!PORTS[@]}"; do
			ping_node "${PORTS[$i]}" || pending+=("${SERVICES[$i]}:${PORTS[$i]}")
		done
		if [[ ${#pending[@]} -eq 0 ]]; then
			log "all ${#PORTS[@]} nodes answer PING"
			return 0
		fi
		if ((SECONDS >= deadline)); then
			log "timed out after ${WAIT_TIMEOUT}s; not answering: ${pending[*]}"
			compose ps >&2 || true
			for i in "${pending[@]}"; do
				log "last log lines of ${i%%:*}:"
				compose logs --tail 10 "${i%%:*}" >&2 || true
			done
			die "cluster not ready"
		fi
		sleep 0.5
	done
}

# Containers of this project that are paused (docker pause by a fault test).
unpause_all() {
	local ids
	ids="$(docker ps -q --filter "label=com.docker.compose.project=$PROJECT" --filter status=paused)"
	if [[ -n "$ids" ]]; then
		log "unpausing paused containers of project $PROJECT"
		# shellcheck disable=SC2086 # word splitting of the id list is intended
		docker unpause $ids >/dev/null
	fi
}

cmd_up() {
	require_docker
	resolve_image
	log "starting ${SERVICES[*]} (project $PROJECT, ${COMPOSE[*]})"
	unpause_all
	compose up -d --remove-orphans "${SERVICES[@]}" || die "compose up failed"
	wait_nodes
}

cmd_down() {
	require_docker
	log "removing containers, network and volumes of project $PROJECT (${COMPOSE[*]})"
	unpause_all
	compose down --volumes --remove-orphans --timeout 10 || die "compose down failed"
}

cmd_status() {
	require_docker
	compose ps
	local i down=0
	for i in "${!PORTS[@]}"; do
		if ping_node "${PORTS[$i]}"; then
			printf '%s\t%s:%s\tPONG\n' "${SERVICES[$i]}" "$HOST" "${PORTS[$i]}"
		else
			printf '%s\t%s:%s\tno answer\n' "${SERVICES[$i]}" "$HOST" "${PORTS[$i]}"
			down=$((down + 1))
		fi
	done
	if ((down > 0)); then
		log "$down of ${#PORTS[@]} nodes do not answer PING"
		return 1
	fi
}

cmd_wait() {
	require_docker
	wait_nodes
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
wait) cmd_wait ;;
-h | --help | help)
	usage
	;;
*)
	usage >&2
	exit 2
	;;
esac
