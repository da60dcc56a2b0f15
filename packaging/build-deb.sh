#!/usr/bin/env bash
# Builds the Debian package seafs_<version>_<arch>.deb into OUTDIR (default: the current
# directory) and prints its path. The version is project(VERSION) of CMakeLists.txt; the Debian
# files are packaging/debian/. The sources (git-tracked files and new ones git does not ignore)
# are copied into a temporary directory with debian/ placed in it, so the checkout is never
# written to. Installs what it needs (install-deps.sh --deb); quiet on success, the build log's
# tail on failure.
set -euo pipefail

usage() { echo "usage: build-deb.sh [OUTDIR]" >&2; exit 2; }
[ $# -le 1 ] || usage
case "${1:-}" in -*) usage ;; esac
root=$(cd "$(dirname "$0")/.." && pwd)
outdir=$(realpath -m "${1:-.}")

bash "$root/packaging/install-deps.sh" --deb

version=$(sed -n 's/^project(seafs VERSION \([0-9][0-9.]*\)[ )].*/\1/p' "$root/CMakeLists.txt")
if [ -z "$version" ]; then
  echo "build-deb: no project(seafs VERSION x.y.z ...) in $root/CMakeLists.txt" >&2
  exit 1
fi
if ! problem=$(git -C "$root" rev-parse --is-inside-work-tree 2>&1 >/dev/null); then
  echo "build-deb: the file list comes from git, which fails in $root: $problem" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/build-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
src=$work/seafs-$version
mkdir "$src"
# Files of the index deleted in the work tree are left out.
git -C "$root" ls-files -z --cached --others --exclude-standard |
  (cd "$root" && while IFS= read -r -d '' f; do
     if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
   done) |
  tar -C "$root" --null --no-recursion -T - -cf - | tar -C "$src" -xf -
cp -r "$root/packaging/debian" "$src/debian"

# The changelog carries the version; its date (the last commit's) becomes SOURCE_DATE_EPOCH.
maintainer=$(sed -n 's/^Maintainer: //p' "$src/debian/control")
date=$(date -R -d "@$(git -C "$root" log -1 --format=%ct)")
printf 'seafs (%s) unstable; urgency=medium\n\n  * Built from the seafs source tree by packaging/build-deb.sh.\n\n -- %s  %s\n' \
  "$version" "$maintainer" "$date" > "$src/debian/changelog"

if ! (cd "$src" && DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-} noddebs" \
      dpkg-buildpackage -b -us -uc -j"$(nproc)") > "$work/build.log" 2>&1; then
  tail -n 60 "$work/build.log" >&2
  echo "build-deb: dpkg-buildpackage failed (log tail above)" >&2
  exit 1
fi
deb=seafs_${version}_$(dpkg-architecture -qDEB_HOST_ARCH).deb
mkdir -p "$outdir"
cp "$work/$deb" "$outdir/$deb"
echo "$outdir/$deb"
