#!/usr/bin/env bash
# Prepares a release vX.Y.Z of every published module (the list is the
# release tool's: cd release && go run . modules), and tags it:
#   1. every other module of the repository, published or not, is made to
#      require the library at vX.Y.Z, and go.work's replace follows;
#   2. the release tool serves the published modules from a file-based module
#      proxy as they will be published and has a fresh module go get each one
#      and build (go run . check), which must pass;
#   3. one commit, then the tags in the order the requirements need: vX.Y.Z
#      for the library, then DIR/vX.Y.Z for each other published module (Go
#      finds a nested module's versions by tags prefixed with its directory).
#
# Usage: scripts/release.sh vX.Y.Z [--dry-run]
#   --dry-run  do 1 and 2, show what would be committed and tagged, then undo 1
#
# Before: move the CHANGELOG's [Unreleased] entries under "## [vX.Y.Z]"
# and commit. After: git push origin main and the tags it prints; the tag
# of the library also starts goreleaser for the command (docs/operations.md).
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_DIR"
export PATH="$PATH:/usr/local/go/bin"
LIB=github.com/quorumlock/quorumlock

version="${1:-}"
dry=0
[[ "${2:-}" == "--dry-run" ]] && dry=1
if ! [[ "$version" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
	printf 'usage: scripts/release.sh vX.Y.Z [--dry-run]\n' >&2
	exit 2
fi
if [[ -n "$(git status --porcelain)" ]]; then
	printf 'release.sh: the working tree has changes; commit or stash them first\n' >&2
	exit 1
fi
if ! grep -q "^## \[$version\]" CHANGELOG.md; then
	printf 'release.sh: CHANGELOG.md has no section "## [%s]"; move the [Unreleased] entries there first\n' "$version" >&2
	[[ "$dry" == 1 ]] || exit 1
fi
for tag in "$version" $(cd release && go run . modules | awk '$1 != "." {print $1 "/'"$version"'"}'); do
	if git rev-parse -q --verify "refs/tags/$tag" >/dev/null; then
		printf 'release.sh: the tag %s exists already\n' "$tag" >&2
		exit 1
	fi
done

old="$(cd release && go run . version)"
printf 'release.sh: the modules require %s %s; making it %s\n' "$LIB" "$old" "$version"
while IFS= read -r mod; do
	dir="$(dirname "$mod")"
	[[ "$dir" == "." ]] && continue
	if grep -q "^[[:space:]]*$LIB " "$mod"; then
		(cd "$dir" && go mod edit -require="$LIB@$version")
	fi
done < <(find . -name go.mod -not -path '*/.*' -not -path '*/testdata/*' | sort)
go work edit -dropreplace="$LIB@$old" -replace="$LIB@$version=./"

printf 'release.sh: checking the published modules as a user gets them\n'
(cd release && go run . check)

if [[ "$dry" == 1 ]]; then
	git --no-pager diff --stat
	printf 'release.sh: --dry-run: would commit the above and tag:\n'
	(cd release && go run . modules) | awk '{ if ($1 == ".") print "  '"$version"'"; else print "  " $1 "/'"$version"'" }'
	git checkout -- .
	exit 0
fi
git commit -q -am "release $version: the modules require $LIB $version"
tags=()
while read -r dir _; do
	if [[ "$dir" == "." ]]; then
		tags+=("$version")
	else
		tags+=("$dir/$version")
	fi
done < <(cd release && go run . modules)
for t in "${tags[@]}"; do
	git tag -a "$t" -m "quorumlock $t"
done
printf 'release.sh: tagged %s\nrelease.sh: publish with: git push origin main %s\n' "${tags[*]}" "${tags[*]}"
