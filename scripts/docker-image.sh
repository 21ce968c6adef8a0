#!/usr/bin/env bash
# Builds the redlock command's image from the Dockerfile as a release does,
# and checks it:
#   1. a static binary (CGO_ENABLED=0, -trimpath, -X main.version as in
#      .goreleaser.yaml), staged with the host's CA certificates in a
#      temporary build context laid out as the Dockerfile expects;
#   2. docker build with a unique local tag (FROM scratch: nothing is pulled);
#   3. "redlock --version" and "redlock help" run in the image, exit 0 and
#      print what they should; the image runs as uid 65532, its entrypoint is
#      /redlock, and it carries the CA certificates.
# On exit, even on failure or when stopped, it removes what it made and
# nothing else: the image by its tag (a stopped build is let finish first),
# the step images of a failed build, the container it created, and the
# temporary directory.
#
# Usage: scripts/docker-image.sh
# Needs Go, a Docker engine and /etc/ssl/certs/ca-certificates.crt (Debian's
# ca-certificates package).
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_DIR"

CERTS=/etc/ssl/certs/ca-certificates.crt
UID_WANTED=65532

# Progress goes to fd 3, a copy of stdout, so that it shows while a step's
# own output is sent to a log file.
exec 3>&1
log() { printf '[docker-image] %s\n' "$*" >&3; }
fail() {
	printf '[docker-image] FAIL: %s\n' "$*" >&2
	exit 1
}

command -v go >/dev/null || fail "go not found in PATH"
command -v docker >/dev/null || fail "docker not found in PATH"
[[ -r "$CERTS" ]] || fail "$CERTS not found: install Debian's ca-certificates package"
docker info >/dev/null 2>&1 || fail "the Docker engine does not answer (docker info)"

arch="$(docker version --format '{{.Server.Arch}}')"
platform="linux/$arch"
version="0.0.0-imagetest.$$"
go_version="$(go env GOVERSION)"
tag="quorumlock/redlock:imagetest-$(date +%Y%m%d%H%M%S)-$$-$RANDOM"
work="$(mktemp -d "${TMPDIR:-/tmp}/redlock-image.XXXXXX")"
context="$work/context" # what docker build sees; logs stay outside it
container=""
pid=""        # of the step long is waiting for
stop="kill"   # what cleanup does to that step: kill it, or wait for it

# long runs a step that may take a while in the background and waits for
# it, saying what it is doing every 20 seconds; it returns the step's status.
long() {
	local what=$1 waited=0
	shift
	"$@" &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		waited=$((waited + 1))
		if ((waited % 20 == 0)); then
			log "still $what (${waited}s)"
		fi
	done
	local status=0
	wait "$pid" || status=$?
	pid=""
	return "$status"
}

# step_images prints the ids of the images the classic builder made for
# the steps of this build, not those it took from its cache, last step
# first. (BuildKit keeps no step images.)
step_images() {
	[[ -f "$work/build.log" ]] || return 0
	awk '/^ ---> Using cache$/ { cached = 1; next }
		/^ ---> [0-9a-f]+$/ { if (!cached) print $2; cached = 0 }' "$work/build.log" | tac
}

cleanup() {
	local status=$?
	if [[ -n "$pid" && "$stop" == "wait" ]]; then
		log "waiting for docker build to finish, to remove what it made"
		wait "$pid" 2>/dev/null || true
	elif [[ -n "$pid" ]]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	if [[ -n "$container" ]]; then
		docker rm "$container" >/dev/null || log "could not remove container $container"
	fi
	if docker image inspect "$tag" >/dev/null 2>&1; then
		log "removing image $tag"
		docker image rm "$tag" >/dev/null || log "could not remove image $tag"
	else
		# A failed build leaves the images of the steps it finished; remove
		# those, never those it took from the cache.
		local id
		for id in $(step_images); do
			if docker image rm "$id" >/dev/null 2>&1; then
				log "removed step image $id"
			fi
		done
	fi
	rm -rf "$work"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "building a static redlock $version for $platform in $work"
mkdir -p "$context/$platform" "$context/etc/ssl/certs"
long "building the binary" env CGO_ENABLED=0 GOOS=linux GOARCH="$arch" go build -trimpath \
	-ldflags "-s -w -X main.version=$version" -o "$context/$platform/redlock" ./cmd/redlock
cp Dockerfile "$context/Dockerfile"
cp "$CERTS" "$context/etc/ssl/certs/ca-certificates.crt"

log "building image $tag"
# The engine goes on with a build whose client was killed, so a stopped
# script lets the build finish and then removes its image.
stop="wait"
if ! long "building the image" docker build --force-rm --build-arg "TARGETPLATFORM=$platform" \
	-t "$tag" "$context" >"$work/build.log" 2>&1; then
	cat "$work/build.log" >&2
	fail "docker build failed"
fi
stop="kill"

log "checking the image's configuration"
user="$(docker image inspect --format '{{.Config.User}}' "$tag")"
[[ "${user%%:*}" == "$UID_WANTED" ]] || fail "image user is '$user', want uid $UID_WANTED"
entrypoint="$(docker image inspect --format '{{json .Config.Entrypoint}}' "$tag")"
[[ "$entrypoint" == '["/redlock"]' ]] || fail "image entrypoint is $entrypoint, want [\"/redlock\"]"
log "user $user, entrypoint $entrypoint"

log "docker run --rm $tag --version"
if ! got="$(docker run --rm "$tag" --version 2>&1)"; then
	fail "--version exited non-zero: $got"
fi
want="redlock $version $go_version"
[[ "$got" == "$want" ]] || fail "--version printed '$got', want '$want'"
log "$got"

log "docker run --rm $tag help"
if ! got="$(docker run --rm "$tag" help 2>&1)"; then
	fail "help exited non-zero: $(head -n 3 <<<"$got")"
fi
for line in "redlock run [flags] NAME" "redlock status [flags] NAME" "Exit statuses:"; do
	grep -qF -- "$line" <<<"$got" || fail "help does not mention '$line'"
done
log "help: $(wc -l <<<"$got") lines, naming run, status and the exit statuses"

log "checking the CA certificates in the image"
container="$(docker create "$tag")"
if ! out="$(docker cp "$container:$CERTS" "$work/certs-from-image.crt" 2>&1)"; then
	fail "docker cp $CERTS out of the image: $out"
fi
cmp -s "$CERTS" "$work/certs-from-image.crt" || fail "$CERTS in the image differs from the host's"
log "$CERTS present ($(grep -c 'BEGIN CERTIFICATE' "$CERTS") certificates)"

log "ok: $tag runs as uid $UID_WANTED and answers --version and help"
