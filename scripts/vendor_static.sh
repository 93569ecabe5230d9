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
#   static/vendor/echarts/echarts.min.js               npm echarts@$ECHARTS_VERSION      dist/echarts.min.js
#   static/vendor/echarts/LICENSE, NOTICE              npm echarts@$ECHARTS_VERSION      LICENSE, NOTICE
#                                                      (the segment explorer's charts; Apache-2.0)
# htmx is not vendored here: django-htmx ships it ({% htmx_script %}).
#
# Usage: scripts/vendor_static.sh   (from anywhere; needs npm and the npm registry)
set -euo pipefail

BOOTSTRAP_VERSION=5.3.9
ICONS_VERSION=1.13.2
ECHARTS_VERSION=6.1.0

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/static/vendor"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

cd "$WORK"
npm init -y >/dev/null
npm install --no-audit --no-fund --ignore-scripts --save-exact \
  "bootstrap@$BOOTSTRAP_VERSION" "bootstrap-icons@$ICONS_VERSION" "echarts@$ECHARTS_VERSION" >/dev/null

BS="$WORK/node_modules/bootstrap"
BI="$WORK/node_modules/bootstrap-icons"
EC="$WORK/node_modules/echarts"
test "$(node -p "require('$BS/package.json').version")" = "$BOOTSTRAP_VERSION"
test "$(node -p "require('$BI/package.json').version")" = "$ICONS_VERSION"
test "$(node -p "require('$EC/package.json').version")" = "$ECHARTS_VERSION"

rm -rf "$DEST/bootstrap" "$DEST/bootstrap-icons" "$DEST/echarts"
mkdir -p "$DEST/bootstrap" "$DEST/bootstrap-icons/fonts" "$DEST/echarts"

# Drop the sourceMappingURL comments: the .map files are not vendored.
sed '/sourceMappingURL=/d' "$BS/dist/css/bootstrap.min.css" >"$DEST/bootstrap/bootstrap.min.css"
sed '/sourceMappingURL=/d' "$BS/dist/js/bootstrap.bundle.min.js" >"$DEST/bootstrap/bootstrap.bundle.min.js"
cp "$BS/LICENSE" "$DEST/bootstrap/LICENSE"

cp "$BI/font/bootstrap-icons.min.css" "$DEST/bootstrap-icons/bootstrap-icons.min.css"
cp "$BI/font/fonts/bootstrap-icons.woff2" "$BI/font/fonts/bootstrap-icons.woff" "$DEST/bootstrap-icons/fonts/"
cp "$BI/LICENSE" "$DEST/bootstrap-icons/LICENSE"

sed '/sourceMappingURL=/d' "$EC/dist/echarts.min.js" >"$DEST/echarts/echarts.min.js"
cp "$EC/LICENSE" "$EC/NOTICE" "$DEST/echarts/"

cat >"$DEST/SOURCES.txt" <<SOURCES
# Written by scripts/vendor_static.sh on $(date -u +%Y-%m-%d); do not edit by hand.
bootstrap@$BOOTSTRAP_VERSION  $(node -p "require('$BS/package.json').license")  dist/css/bootstrap.min.css dist/js/bootstrap.bundle.min.js LICENSE
bootstrap-icons@$ICONS_VERSION  $(node -p "require('$BI/package.json').license")  font/bootstrap-icons.min.css font/fonts/bootstrap-icons.woff2 font/fonts/bootstrap-icons.woff LICENSE
echarts@$ECHARTS_VERSION  $(node -p "require('$EC/package.json').license")  dist/echarts.min.js LICENSE NOTICE
SOURCES
(cd "$DEST" && sha256sum bootstrap/* bootstrap-icons/*.css bootstrap-icons/fonts/* echarts/* | sed 's/^/# sha256 /' >>SOURCES.txt)
echo "Vendored bootstrap@$BOOTSTRAP_VERSION, bootstrap-icons@$ICONS_VERSION and echarts@$ECHARTS_VERSION into $DEST"
