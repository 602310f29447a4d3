#!/usr/bin/env bash
# Make `apt-get source` work: add deb-src entries mirroring the configured deb ones (once).
set -euo pipefail
list=/etc/apt/sources.list.d/wasm2py-deb-src.sources
if grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    exit 0
fi
tmp=$(mktemp)
for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] || continue
    # deb822 stanzas: keep those whose Types include "deb", served from Debian's own mirrors
    awk 'BEGIN{RS=""; ORS="\n\n"} /Types:[^\n]*deb/ && /URIs:[^\n]*debian/ {
        gsub(/Types:[^\n]*/, "Types: deb-src"); print }' "$f" >>"$tmp"
done
if [ -f /etc/apt/sources.list ]; then
    sed -n 's/^deb \(.*debian.*\)$/deb-src \1/p' /etc/apt/sources.list >"$tmp.list"
    [ -s "$tmp.list" ] && cp "$tmp.list" /etc/apt/sources.list.d/wasm2py-deb-src.list
    rm -f "$tmp.list"
fi
[ -s "$tmp" ] && cp "$tmp" "$list"
rm -f "$tmp"
apt-get update -qq
