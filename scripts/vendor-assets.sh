#!/bin/sh
# Fetch the web UI's third-party assets from the npm registry and copy them into the package,
# so a node serves everything itself (no CDN; works offline). Re-run to refresh; bump versions here.
#
#   chart.js@4.6.1      dist/chart.umd.min.js       -> static/vendor/chart.umd.min.js   (MIT)
#   world-atlas@2.0.2   countries-110m.json         -> static/vendor/countries-110m.json (ISC; Natural Earth, public domain)
#
# The map is drawn server-side (src/accord/web/geo.py) from countries-110m.json; the browser never loads it.
set -eu
HERE=$(cd "$(dirname "$0")/.." && pwd)
DEST="$HERE/src/accord/web/static/vendor"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$DEST"
cd "$WORK"
npm pack --silent chart.js@4.6.1 world-atlas@2.0.2 >/dev/null
mkdir chartjs worldatlas
tar xzf chart.js-4.6.1.tgz -C chartjs
tar xzf world-atlas-2.0.2.tgz -C worldatlas
cp chartjs/package/dist/chart.umd.min.js "$DEST/chart.umd.min.js"
cp chartjs/package/LICENSE.md "$DEST/chart.js.LICENSE.md"
cp worldatlas/package/countries-110m.json "$DEST/countries-110m.json"
cp worldatlas/package/LICENSE "$DEST/world-atlas.LICENSE"
sha256sum "$DEST"/chart.umd.min.js "$DEST"/countries-110m.json
