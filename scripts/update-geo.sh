#!/usr/bin/env bash
# Re-fetches the built-in GeoIP/ASN data into signatures/geo/ and rebuilds asn.mmdb.
#
#   scripts/update-geo.sh            # latest published versions
#   scripts/update-geo.sh 2.3.2026061719   # a given ip-location-db version (both packages)
#
# Needs: npm (registry access), python3 with venv. Installs mmdb-writer and maxminddb
# from PyPI into a throwaway venv. Takes a few minutes (the MMDB writer is pure Python).
# Afterwards: cargo test --lib enrich::geo, then commit signatures/geo/.
set -euo pipefail

die() { echo "error: $*" >&2; exit 1; }

REPO_DIR=$(cd "$(dirname "$0")/.." && pwd)
OUT="$REPO_DIR/signatures/geo"
VERSION=${1:-}
COUNTRY_PKG=@ip-location-db/geo-whois-asn-country-mmdb
ASN_PKG=@ip-location-db/asn
MMDB_WRITER=mmdb-writer==0.2.7
MAXMINDDB=maxminddb==3.2.0

command -v npm >/dev/null || die "npm not found"
command -v python3 >/dev/null || die "python3 not found"
[[ -d "$OUT" ]] || die "$OUT missing (run from a leakscope checkout)"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

# fetch PKG -> prints the unpacked directory
fetch() {
  local spec=$1 name dir
  [[ -n "$VERSION" ]] && spec="$1@$VERSION"
  name=$(npm pack --silent "$spec") || die "npm pack $spec failed"
  dir="$WORK/$(basename "$name" .tgz)"
  mkdir -p "$dir"
  tar xzf "$name" -C "$dir"
  echo "$dir/package"
}

echo "fetching $COUNTRY_PKG and $ASN_PKG ${VERSION:+($VERSION)}" >&2
country_dir=$(fetch "$COUNTRY_PKG")
asn_dir=$(fetch "$ASN_PKG")
country_ver=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$country_dir/package.json")
asn_ver=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$asn_dir/package.json")

echo "building asn.mmdb from $ASN_PKG $asn_ver" >&2
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install --quiet "$MMDB_WRITER" "$MAXMINDDB"
"$WORK/venv/bin/python" "$REPO_DIR/scripts/geo_asn_csv_to_mmdb.py" \
  "$asn_dir/asn-ipv4.csv" "$asn_dir/asn-ipv6.csv" "$WORK/asn.mmdb" "$asn_ver"

install -m 0644 "$country_dir/geo-whois-asn-country.mmdb" "$OUT/geo-whois-asn-country.mmdb"
install -m 0644 "$WORK/asn.mmdb" "$OUT/asn.mmdb"
mkdir -p "$OUT/licenses"
install -m 0644 "$country_dir/NRO_LICENSE" "$OUT/licenses/NRO_LICENSE"
for f in DBIP-LICENSE ROUTEVIEWS-LICENSE MODIFICATIONS; do
  install -m 0644 "$asn_dir/$f" "$OUT/licenses/ASN-$f"
done

{
  echo "# Written by scripts/update-geo.sh; do not edit."
  echo "country_package = \"$COUNTRY_PKG@$country_ver\""
  echo "country_sha256 = \"$(sha256sum "$OUT/geo-whois-asn-country.mmdb" | cut -d' ' -f1)\""
  echo "asn_package = \"$ASN_PKG@$asn_ver\""
  echo "asn_sha256 = \"$(sha256sum "$OUT/asn.mmdb" | cut -d' ' -f1)\""
  echo "fetched = \"$(date -u +%Y-%m-%d)\""
} >"$OUT/VERSIONS.toml"

ls -l "$OUT"/*.mmdb >&2
echo "done: review signatures/geo/README.md (versions, dates) and run cargo test --lib enrich::geo" >&2
