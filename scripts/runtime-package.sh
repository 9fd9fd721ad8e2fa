#!/usr/bin/env bash
# runtime-package.sh: pack ./runtime into dist/banger-runtime.tar.gz for publication
# (`make runtime-package`) and print the lines for runtime-bundle.toml.
#
#   scripts/runtime-package.sh [RUNTIME_DIR [OUTPUT]]
#
# The tarball is deterministic: the same tree gives the same bytes and so the same
# SHA-256 (sorted names, mtime 0, owner 0:0, normalised modes, gzip without a name
# or timestamp). Sparse files (the rootfs images) stay sparse. Left out: a user's
# SSH key (banger makes keys per user) and the local build's .stamps/ cache keys
# and .build.log.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
runtime=${1:-$root/runtime}
out=${2:-$root/dist/banger-runtime.tar.gz}

die() { echo "runtime-package: $*" >&2; exit 1; }

[ -d "$runtime" ] || die "$runtime does not exist; run make runtime-bundle first"
[ -f "$runtime/bundle.json" ] || die "$runtime/bundle.json is missing; run make runtime-bundle first"

# Check the tree against its own index when the tool is built, so a stale
# bundle.json is caught before publication rather than by every user.
tool=${BANGER_BUILD_DIR:-$root/build}/src/bundle/banger-bundle
if [ -x "$tool" ]; then
	"$tool" verify "$runtime" >&2 || die "$runtime does not match its bundle.json; rebuild it with make runtime-bundle"
fi

mkdir -p "$(dirname "$out")"
tmp=$(mktemp "$out.XXXXXX")
trap 'rm -f "$tmp"' EXIT

tar --create --file=- --directory="$runtime" \
	--format=gnu --sparse \
	--sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
	--mode='u+rwX,go+rX,go-w' \
	--exclude=./id_ed25519 --exclude=./id_ed25519.pub \
	--exclude=./.stamps --exclude=./.build.log \
	. | gzip -n -6 >"$tmp"
chmod 0644 "$tmp"
mv -f "$tmp" "$out"
trap - EXIT

sum=$(sha256sum "$out" | cut -d' ' -f1)
size=$(du -h --apparent-size "$out" | cut -f1)

# Keep the manifest's current url when there is one: usually only the sum changes.
url=""
if [ -f "$root/runtime-bundle.toml" ]; then
	url=$(sed -n 's/^[[:space:]]*url[[:space:]]*=[[:space:]]*"\(.*\)"[[:space:]]*$/\1/p' \
		"$root/runtime-bundle.toml" | head -1)
fi
[ -n "$url" ] || url="https://REPLACE-WITH-PUBLISHED-LOCATION/$(basename "$out")"
kver=$(sed -n 's/.*"kernel_version"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' \
	"$runtime/bundle.json" | head -1)

echo "wrote $out ($size)"
echo "sha256 $sum"
echo
echo "# runtime-bundle.toml (publish $(basename "$out") at the url first):"
echo "url = \"$url\""
echo "sha256 = \"$sum\""
if [ -n "$kver" ]; then
	echo
	echo "[bundle_metadata]"
	echo "kernel_version = \"$kver\""
fi
