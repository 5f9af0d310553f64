#!/usr/bin/env bash
# The dashboard's third-party assets (uPlot), from the npm lockfile in client/dashboard, copied
# into client/dashboard/vendor/, where the `paychan` binary embeds them at build time (so a
# build needs no npm, and the page needs no other host).
#   ./scripts/dashboard-vendor.sh          # refresh vendor/ after changing package.json
#   ./scripts/dashboard-vendor.sh --check  # fail if vendor/ differs from the lockfile's packages
set -euo pipefail
source "$(dirname "$0")/common.sh"
dashboard="$PAYCHAN_ROOT/client/dashboard"
cd "$dashboard"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	log "installing the dashboard's npm packages"
	npm ci --no-audit --no-fund --loglevel=error
fi
files=(uPlot.iife.min.js uPlot.min.css)
if [ "${1:-}" = "--check" ]; then
	for file in "${files[@]}"; do
		cmp -s "node_modules/uplot/dist/$file" "vendor/$file" || {
			echo "client/dashboard/vendor/$file differs from the uplot package of the lockfile;" \
				"run ./scripts/dashboard-vendor.sh" >&2
			exit 1
		}
	done
	log "the dashboard's vendored assets match its lockfile"
else
	mkdir -p vendor
	for file in "${files[@]}"; do cp "node_modules/uplot/dist/$file" "vendor/$file"; done
	cp node_modules/uplot/LICENSE vendor/uPlot.LICENSE
	log "copied ${files[*]} into client/dashboard/vendor"
fi
