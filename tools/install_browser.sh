#!/usr/bin/env bash
# Installs the headless browser the web-service tests drive (tests/service/): Debian's
# chromium + chromium-driver, at /usr/bin/chromium and /usr/bin/chromedriver.
# Idempotent: does nothing when both are already there. Needs root (or sudo) and apt-get;
# anything else stops with a message saying what to install by hand.
set -euo pipefail

BROWSER=/usr/bin/chromium
DRIVER=/usr/bin/chromedriver
PACKAGES=(chromium chromium-driver)

die() { printf '[install_browser] ERROR: %s\n' "$*" >&2; exit 1; }

if [[ -x "$BROWSER" && -x "$DRIVER" ]]; then
    exit 0
fi
command -v apt-get >/dev/null 2>&1 \
    || die "no apt-get here: install chromium and its chromedriver ($BROWSER, $DRIVER)"
if [[ $(id -u) -eq 0 ]]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
else
    die "$BROWSER / $DRIVER missing, and neither root nor password-less sudo here: run" \
        "'sudo apt-get install -y --no-install-recommends ${PACKAGES[*]}'"
fi
echo "[install_browser] installing ${PACKAGES[*]} (apt-get, about 1-2 min)"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q >/dev/null
"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" >/dev/null
[[ -x "$BROWSER" && -x "$DRIVER" ]] \
    || die "apt-get finished but $BROWSER or $DRIVER is still missing"
echo "[install_browser] ready: $("$BROWSER" --version 2>/dev/null | head -n1)"
