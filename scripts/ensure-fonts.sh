#!/usr/bin/env bash
# Certificate PDFs embed a Chinese font (WenQuanYi Micro Hei). Install it when missing and we
# can (root, or passwordless sudo). Never fatal: without it the city runs and the PDF download
# answers 503 PDF_FONT_MISSING.
set -u
fc-list 2>/dev/null | grep -qi "wenquanyi micro hei" && exit 0
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] && exit 0
command -v apt-get >/dev/null 2>&1 || { echo "warning: no apt-get; install WenQuanYi Micro Hei for certificate PDFs" >&2; exit 0; }
echo "Installing the Chinese font for certificate PDFs: fonts-wqy-microhei"
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
  echo "warning: cannot install fonts-wqy-microhei (not root, no sudo); certificate PDFs are unavailable." >&2; exit 0
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -qq fonts-wqy-microhei >/dev/null 2>&1 \
  || { $SUDO apt-get update -qq >/dev/null 2>&1 && $SUDO apt-get install -y -qq fonts-wqy-microhei >/dev/null 2>&1; } \
  || echo "warning: could not install fonts-wqy-microhei; certificate PDFs are unavailable." >&2
exit 0
