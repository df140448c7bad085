#!/usr/bin/env bash
# Browser tests drive Debian's Chromium with a CJK font. Install both when missing and we can
# (root, or passwordless sudo); never download a browser build of Playwright's own.
set -u
# axe-core (from the npm registry) checks pages for accessibility problems in the browser tests.
AXE_VERSION=4.14.1
AXE_DIR=var/node
if [ ! -f "$AXE_DIR/node_modules/axe-core/axe.min.js" ] && command -v npm >/dev/null 2>&1; then
  npm install --no-save --silent --no-audit --no-fund --prefix "$AXE_DIR" "axe-core@$AXE_VERSION" >/dev/null 2>&1 \
    || echo "warning: could not install axe-core; accessibility checks will be skipped" >&2
fi
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
fc-list 2>/dev/null | grep -qi "wenquanyi micro hei" || dpkg -s fonts-wqy-microhei >/dev/null 2>&1 || need+=(fonts-wqy-microhei)
[ ${#need[@]} -eq 0 ] && exit 0
echo "Installing for browser tests: ${need[*]}"
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
  echo "Cannot install ${need[*]} (not root, no sudo); browser tests will be skipped." >&2; exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 || { $SUDO apt-get update -qq >/dev/null 2>&1 && $SUDO apt-get install -y -qq "${need[@]}" >/dev/null; }
