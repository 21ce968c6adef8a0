#!/usr/bin/env bash
# Build a minimal local Redis image from Debian's redis-server package.
#
# No container registry is needed: the image is assembled FROM scratch out of
# the host's redis-server and redis-cli binaries and every shared library they
# link against. The result behaves like the official image for our purposes:
# `redis-server` and `redis-cli` are on PATH, /data exists and is the working
# directory, so docker-compose.yml can run `redis-server <flags>` and
# healthcheck with `redis-cli -p 6379 ping`.
#
# With a C compiler (cc, or $CC) the image also carries the clock shim of
# scripts/redis-clock-shim.c, listed in /etc/ld.so.preload: it lets the chaos
# run (scripts/chaos.sh) step or drift one node's wall clock through the file
# /tmp/quorumlock-clock in the container, and leaves the clock alone while
# that file is absent. Without a compiler the image is built without it and
# the chaos run leaves clock faults out. The label org.quorumlock.clock-shim
# holds the SHA-256 of the shim's source ("none" without the shim); an
# existing image whose label differs from the source's is rebuilt.
#
# Usage: scripts/build-redis-image.sh [--force]
#   --force   rebuild even if the image already exists and is current
# Environment:
#   REDIS_IMAGE  image tag to build (default quorumlock/redis:7-local)
#   CC           C compiler for the clock shim (default cc)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
IMAGE="${REDIS_IMAGE:-quorumlock/redis:7-local}"
SHIM_SRC="$SCRIPT_DIR/redis-clock-shim.c"
SHIM_LIB="/usr/local/lib/quorumlock-clock-shim.so"
SHIM_LABEL="org.quorumlock.clock-shim"
CC_BIN="${CC:-cc}"
FORCE=0

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
}

log() { printf '[build-redis-image] %s\n' "$*" >&2; }
die() {
	printf '[build-redis-image] ERROR: %s\n' "$*" >&2
	exit 1
}

for arg in "$@"; do
	case "$arg" in
	--force | -f) FORCE=1 ;;
	--help | -h)
		usage
		exit 0
		;;
	*) die "unknown argument: $arg (try --help)" ;;
	esac
done

command -v docker >/dev/null 2>&1 || die "docker command not found"
docker info >/dev/null 2>&1 || die "cannot reach the Docker engine (is dockerd running, and may this user use it?)"

[[ -f "$SHIM_SRC" ]] || die "clock shim source not found: $SHIM_SRC"
# What the label should say: the shim's source hash, or none without a compiler.
if command -v "$CC_BIN" >/dev/null 2>&1; then
	WANT_SHIM="$(sha256sum "$SHIM_SRC" | cut -c1-64)"
else
	WANT_SHIM="none"
fi

if [[ "$FORCE" -eq 0 ]] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
	HAVE_SHIM="$(docker image inspect --format "{{index .Config.Labels \"$SHIM_LABEL\"}}" "$IMAGE" 2>/dev/null || true)"
	if [[ "$HAVE_SHIM" == "$WANT_SHIM" ]]; then
		log "image $IMAGE already exists and is current; nothing to do (use --force to rebuild)"
		exit 0
	fi
	log "image $IMAGE exists but its clock shim (${HAVE_SHIM:-absent}) is not the current one ($WANT_SHIM): rebuilding"
fi

# --- make sure redis-server and redis-cli are installed on the host ---------

as_root() {
	if [[ "$(id -u)" -eq 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "need root (or sudo) to run: $*"
	fi
}

apt_install() {
	command -v apt-get >/dev/null 2>&1 ||
		die "redis-server/redis-cli not found and apt-get is unavailable; install Redis 7 by hand"
	log "installing $* with apt-get"
	if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"; then
		log "install failed; running apt-get update and retrying"
		as_root apt-get update
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" ||
			die "apt-get install $* failed"
	fi
}

if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
	# redis-server depends on redis-tools, which ships redis-cli.
	apt_install redis-server redis-tools
fi

SERVER_CMD="$(command -v redis-server)"
# Debian's redis-server is a symlink to redis-check-rdb; the binary picks its
# mode from argv[0], so it is copied into the image under the name redis-server.
SERVER_BIN="$(readlink -f "$SERVER_CMD")"
CLI_BIN="$(readlink -f "$(command -v redis-cli)")"
[[ -x "$SERVER_BIN" ]] || die "redis-server not executable: $SERVER_BIN"
[[ -x "$CLI_BIN" ]] || die "redis-cli not executable: $CLI_BIN"
command -v ldd >/dev/null 2>&1 || die "ldd not found (package libc-bin)"

REDIS_VERSION="$("$SERVER_CMD" --version | sed -n 's/.* v=\([^ ]*\).*/\1/p')"
log "using $SERVER_BIN (Redis ${REDIS_VERSION:-unknown}) and $CLI_BIN"

# --- assemble the root file system -----------------------------------------

WORK="$(mktemp -d "${TMPDIR:-/tmp}/quorumlock-redis-image.XXXXXX")"
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT
ROOT="$WORK/rootfs"
mkdir -p "$ROOT/usr/local/bin" "$ROOT/data" "$ROOT/etc" "$ROOT/tmp"
chmod 1777 "$ROOT/tmp"
chmod 0755 "$ROOT/data"

cp "$SERVER_BIN" "$ROOT/usr/local/bin/redis-server"
cp "$CLI_BIN" "$ROOT/usr/local/bin/redis-cli"

# Copy one file to the same path inside the root, following symlinks so the
# image holds a real file under the name the loader asks for.
copy_into_root() {
	local src="$1"
	local dst="$ROOT$src"
	[[ -e "$dst" ]] && return 0
	mkdir -p "$(dirname "$dst")"
	cp -L "$src" "$dst"
}

# Every library ldd lists, plus the dynamic loader (the line without "=>").
libs_of() {
	ldd "$1" | awk '
		$2 == "=>" && $3 ~ /^\// { print $3; next }
		$1 ~ /^\// { print $1 }
	'
}

nlibs=0
for bin in "$SERVER_BIN" "$CLI_BIN"; do
	if ! ldd "$bin" >/dev/null 2>&1; then
		die "ldd failed on $bin"
	fi
	if ldd "$bin" | grep -q 'not found'; then
		ldd "$bin" >&2
		die "unresolved libraries for $bin"
	fi
	while IFS= read -r lib; do
		copy_into_root "$lib"
		nlibs=$((nlibs + 1))
	done < <(libs_of "$bin")
done
log "copied 2 binaries and $nlibs library references into the image root"

# The clock shim: linked against libc only, which is in the root already.
if [[ "$WANT_SHIM" != none ]]; then
	mkdir -p "$ROOT$(dirname "$SHIM_LIB")"
	"$CC_BIN" -O2 -Wall -Wextra -Werror -shared -fPIC -Wl,-z,now -o "$ROOT$SHIM_LIB" "$SHIM_SRC" ||
		die "compiling the clock shim ($SHIM_SRC) failed"
	while IFS= read -r lib; do
		copy_into_root "$lib"
	done < <(libs_of "$ROOT$SHIM_LIB")
	printf '%s\n' "$SHIM_LIB" >"$ROOT/etc/ld.so.preload"
	log "compiled the clock shim into $SHIM_LIB (preloaded by /etc/ld.so.preload)"
else
	log "no C compiler ($CC_BIN): the image gets no clock shim, and chaos runs leave clock faults out" \
		"(install gcc and run this script again)"
fi

cat >"$ROOT/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
EOF
cat >"$ROOT/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
cat >"$ROOT/etc/nsswitch.conf" <<'EOF'
passwd: files
group: files
hosts: files dns
EOF

IMAGE_PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LABEL_DESC="Redis ${REDIS_VERSION:-7} built from the Debian redis-server package"

cat >"$WORK/Dockerfile" <<EOF
FROM scratch
COPY rootfs/ /
ENV PATH=$IMAGE_PATH
WORKDIR /data
VOLUME /data
EXPOSE 6379
LABEL org.opencontainers.image.title="quorumlock-redis" \\
      org.opencontainers.image.description="$LABEL_DESC" \\
      org.opencontainers.image.version="${REDIS_VERSION:-unknown}" \\
      $SHIM_LABEL="$WANT_SHIM"
CMD ["redis-server"]
EOF

# --- build --------------------------------------------------------------------

OLD_ID="$(docker image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)"

log "building $IMAGE (docker build, FROM scratch)"
if ! docker build --quiet -t "$IMAGE" "$WORK" >&2; then
	log "docker build failed; falling back to docker import of the root file system"
	tar -C "$ROOT" -cf - . | docker import \
		--change "ENV PATH=$IMAGE_PATH" \
		--change "WORKDIR /data" \
		--change "VOLUME /data" \
		--change "EXPOSE 6379" \
		--change 'CMD ["redis-server"]' \
		--change "LABEL $SHIM_LABEL=$WANT_SHIM" \
		- "$IMAGE" >&2 || die "docker import failed"
fi

# --- smoke test: the binaries start inside the image ------------------------

# check_shim starts a server from the image, steps its clock an hour forward
# through the shim's file and expects TIME to show it.
check_shim() {
	local cid t now ok=1
	cid="$(docker run -d --entrypoint redis-server "$IMAGE" --save '' --appendonly no)" || return 1
	printf '3600000000000 0 0\n' >"$WORK/skew"
	for _ in $(seq 50); do
		if docker cp "$WORK/skew" "$cid:/tmp/quorumlock-clock" 2>/dev/null &&
			t="$(docker exec "$cid" redis-cli time 2>/dev/null | head -n 1)" && [[ "$t" =~ ^[0-9]+$ ]]; then
			now="$(date +%s)"
			if ((t - now > 3500 && t - now < 3700)); then
				ok=0
				break
			fi
		fi
		sleep 0.2
	done
	docker rm -f "$cid" >/dev/null 2>&1 || true
	((ok == 0)) && log "the clock shim steps the server's clock as asked"
	return "$ok"
}

if ! got="$(docker run --rm --entrypoint redis-server "$IMAGE" --version 2>&1)"; then
	die "built image cannot run redis-server: $got"
fi
if ! docker run --rm --entrypoint redis-cli "$IMAGE" --version >/dev/null 2>&1; then
	die "built image cannot run redis-cli"
fi
if [[ "$WANT_SHIM" != none ]]; then
	check_shim || die "the clock shim does not skew the clock in $IMAGE"
fi
NEW_ID="$(docker image inspect --format '{{.Id}}' "$IMAGE")"
if [[ -n "$OLD_ID" && "$OLD_ID" != "$NEW_ID" ]]; then
	# The rebuilt tag moved; drop the previous image unless a container uses it.
	docker image rm "$OLD_ID" >/dev/null 2>&1 || true
fi
log "built $IMAGE: $got"
printf '%s\n' "$IMAGE"
