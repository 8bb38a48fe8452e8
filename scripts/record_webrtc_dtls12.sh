#!/usr/bin/env bash
# Records a WebRTC call between headless Chromium 156 and an aiortc peer whose DTLS is capped at
# 1.2 -> captures/webrtc_p2p_dtls12.pcap. Chromium falls back to DTLS 1.2, so both certificates
# are on the wire in clear: Chromium's CN=WebRTC and aiortc's CN=<32 hex digits>.
# (Chromium <-> Chromium negotiates DTLS 1.3, see record_webrtc.sh.) aiortc sends the received
# audio and video back, so there is SRTP both ways. Signalling is one POST /offer over HTTP on
# 127.0.0.1, left out of the capture.
# Run as root on Debian 12. Everything happens in a private network namespace holding only lo.
# Debian packages: chromium tcpdump python3 python3-venv iproute2 util-linux
# PyPI packages (in the venv $VENV): aiortc==1.16.0 (brings aioice, pyOpenSSL, cryptography, av)
# npm packages: none
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"

CALL_SECS=${CALL_SECS:-4}
OUT=${OUT:-$HERE/../captures/webrtc_p2p_dtls12.pcap}
VENV=${VENV:-/opt/leakscope-capture-venv}

if [[ -z "${LEAKSCOPE_IN_NETNS:-}" ]]; then
  ensure_pkgs chromium tcpdump python3 python3-venv iproute2 util-linux
  if ! "$VENV/bin/python" -c 'import aiortc' 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q aiortc==1.16.0
  fi
fi
enter_loopback_netns "$0" "$@"

WORK_DIR=$(mktemp -d)
trap cleanup EXIT
HTTP_PORT=8000
OUT=$(realpath -m "$OUT")
mkdir -p "$(dirname "$OUT")"

"$VENV/bin/python" "$HERE/webrtc/aiortc_peer.py" "$HTTP_PORT" >"$WORK_DIR/result.json" 2>"$WORK_DIR/peer.log" &
PEER_PID=$!
BG_PIDS+=("$PEER_PID")
wait_for "grep -q ready '$WORK_DIR/peer.log'" 20 "aiortc_peer.py" || { cat "$WORK_DIR/peer.log" >&2; die "no peer"; }

start_tcpdump "$OUT" not tcp port "$HTTP_PORT"

chromium --headless=new --no-sandbox --disable-gpu --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --disable-default-apps --disable-domain-reliability --no-default-browser-check \
  --user-data-dir="$WORK_DIR/profile" \
  --allow-loopback-in-peer-connection \
  --use-fake-device-for-media-stream --use-fake-ui-for-media-stream \
  --disable-features=WebRtcHideLocalIpsWithMdns \
  "http://127.0.0.1:$HTTP_PORT/call_remote.html?secs=$CALL_SECS" \
  >"$WORK_DIR/chromium.log" 2>&1 &
CHROME_PID=$!
BG_PIDS+=("$CHROME_PID")

# aiortc_peer.py exits once the page has reported (and it has closed its side).
if ! wait_for "! kill -0 $PEER_PID 2>/dev/null" $((CALL_SECS + 40)) "the page to finish the call"; then
  tail -20 "$WORK_DIR/peer.log" "$WORK_DIR/chromium.log" >&2
  die "no result from the page"
fi
sleep 1
stop_tcpdump
kill "$CHROME_PID" 2>/dev/null || true
wait "$CHROME_PID" 2>/dev/null || true

python3 -m json.tool "$WORK_DIR/result.json"
if grep -q '"error"' "$WORK_DIR/result.json"; then die "the call failed"; fi
echo "wrote $OUT ($(stat -c %s "$OUT") bytes)"
