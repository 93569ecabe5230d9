#!/usr/bin/env bash
# Re-create static/vendor/ from the npm registry (no CDN at run time: the app works offline).
#
# Where each file comes from:
#   static/vendor/bootstrap/bootstrap.min.css          npm bootstrap@$BOOTSTRAP_VERSION  dist/css/bootstrap.min.css
#   static/vendor/bootstrap/bootstrap.bundle.min.js    npm bootstrap@$BOOTSTRAP_VERSION  dist/js/bootstrap.bundle.min.js
#   static/vendor/bootstrap-icons/bootstrap-icons.min.css
#                                                      npm bootstrap-icons@$ICONS_VERSION font/bootstrap-icons.min.css
#   static/vendor/bootstrap-icons/fonts/bootstrap-icons.woff2, .woff
#                                                      npm bootstrap-icons@$ICONS_VERSION font/fonts/
# htmx is not vendored here: django-htmx ships it ({% htmx_script %}).
#
# Usage: scripts/vendor_static.sh   (from anywhere; needs npm and the npm registry)
set -euo pipefail

BOOTSTRAP_VERSION=5.3.9
ICONS_VERSION=1.13.2

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/static/vendor"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

cd "$WORK"
npm init -y >/dev/null
npm install --no-audit --no-fund --ignore-scripts --save-exact \
  "bootstrap@$BOOTSTRAP_VERSION" "bootstrap-icons@$ICONS_VERSION" >/dev/null

BS="$WORK/node_modules/bootstrap"
BI="$WORK/node_modules/bootstrap-icons"
test "$(node -p "require('$BS/package.json').version")" = "$BOOTSTRAP_VERSION"
test "$(node -p "require('$BI/package.json').version")" = "$ICONS_VERSION"

rm -rf "$DEST/bootstrap" "$DEST/bootstrap-icons"
mkdir -p "$DEST/bootstrap" "$DEST/bootstrap-icons/fonts"

# Drop the sourceMappingURL comments: the .map files are not vendored.
sed '/sourceMappingURL=/d' "$BS/dist/css/bootstrap.min.css" >"$DEST/bootstrap/bootstrap.min.css"
sed '/sourceMappingURL=/d' "$BS/dist/js/bootstrap.bundle.min.js" >"$DEST/bootstrap/bootstrap.bundle.min.js"
cp "$BS/LICENSE" "$DEST/bootstrap/LICENSE"

cp "$BI/font/bootstrap-icons.min.css" "$DEST/bootstrap-icons/bootstrap-icons.min.css"
cp "$BI/font/fonts/bootstrap-icons.woff2" "$BI/font/fonts/bootstrap-icons.woff" "$DEST/bootstrap-icons/fonts/"
cp "$BI/LICENSE" "$DEST/bootstrap-icons/LICENSE"

cat >"$DEST/SOURCES.txt" <<SOURCES
# Written by scripts/vendor_static.sh on $(date -u +%Y-%m-%d); do not edit by hand.
bootstrap@$BOOTSTRAP_VERSION  $(node -p "require('$BS/package.json').license")  dist/css/bootstrap.min.css dist/js/bootstrap.bundle.min.js LICENSE
bootstrap-icons@$ICONS_VERSION  $(node -p "require('$BI/package.json').license")  font/bootstrap-icons.min.css font/fonts/bootstrap-icons.woff2 font/fonts/bootstrap-icons.woff LICENSE
SOURCES
(cd "$DEST" && sha256sum bootstrap/* bootstrap-icons/*.css bootstrap-icons/fonts/* | sed 's/^/# sha256 /' >>SOURCES.txt)
echo "Vendored bootstrap@$BOOTSTRAP_VERSION and bootstrap-icons@$ICONS_VERSION into $DEST"
