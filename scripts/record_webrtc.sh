#!/usr/bin/env bash
# Records a WebRTC call between two RTCPeerConnections in one headless Chromium page.
#   scripts/record_webrtc.sh p2p   -> captures/webrtc_p2p.pcap  (host candidates on 127.0.0.1)
#   scripts/record_webrtc.sh turn  -> captures/webrtc_turn.pcap (iceTransportPolicy 'relay' via coturn)
# Both peers are Chromium 156, which always offers DTLS 1.3 (with a post-quantum key share) and
# so negotiates DTLS 1.3 with itself: the certificates are encrypted on the wire. (Its field
# trial WebRTC-ForceDtls13 is gone from this build; see record_webrtc_dtls12.sh.)
# Run as root on Debian 12. Everything happens in a private network namespace holding only lo.
# Debian packages: chromium tcpdump python3 iproute2 util-linux coturn(turn mode only)
# npm / PyPI packages: none
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"

MODE=${1:-p2p}
CALL_SECS=${CALL_SECS:-4}
case $MODE in p2p|turn) ;; *) die "usage: $0 p2p|turn" ;; esac
OUT=${OUT:-$HERE/../captures/webrtc_$MODE.pcap}

if [[ -z "${LEAKSCOPE_IN_NETNS:-}" ]]; then
  pkgs=(chromium tcpdump python3 iproute2 util-linux)
  [[ $MODE == turn ]] && pkgs+=(coturn)
  ensure_pkgs "${pkgs[@]}"
fi
enter_loopback_netns "$0" "$@"

WORK_DIR=$(mktemp -d)
trap cleanup EXIT
HTTP_PORT=8000
OUT=$(realpath -m "$OUT")
mkdir -p "$(dirname "$OUT")"

# Page server. Its access log tells us when the page has finished the call.
python3 -m http.server "$HTTP_PORT" --bind 127.0.0.1 --directory "$HERE/webrtc" \
  >"$WORK_DIR/http.log" 2>&1 &
BG_PIDS+=($!)
wait_for "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", $HTTP_PORT), 1)' 2>/dev/null" 10 "http.server" || die "no http.server"

if [[ $MODE == turn ]]; then
  # Flags checked against `turnserver --help` (coturn 4.6.1). No config file is read (-n).
  turnserver -n --listening-ip=127.0.0.1 --relay-ip=127.0.0.1 --listening-port=3478 \
    --min-port=49152 --max-port=49200 --lt-cred-mech --user=test:test --realm=leakscope.test \
    --allow-loopback-peers --fingerprint --no-cli --no-tls --no-dtls --no-tcp-relay \
    --log-file=stdout --simple-log >"$WORK_DIR/turn.log" 2>&1 &
  BG_PIDS+=($!)
  wait_for "grep -q 'Total UDP servers' '$WORK_DIR/turn.log' || ss -lun | grep -q '127.0.0.1:3478'" 10 "turnserver" || { cat "$WORK_DIR/turn.log" >&2; die "no turnserver"; }
fi

# Only the call: leave out the page load over HTTP.
start_tcpdump "$OUT" not tcp port "$HTTP_PORT"

chromium --headless=new --no-sandbox --disable-gpu --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --disable-default-apps --disable-domain-reliability --no-default-browser-check \
  --user-data-dir="$WORK_DIR/profile" \
  --allow-loopback-in-peer-connection \
  --use-fake-device-for-media-stream --use-fake-ui-for-media-stream \
  --disable-features=WebRtcHideLocalIpsWithMdns \
  "http://127.0.0.1:$HTTP_PORT/call.html?mode=$MODE&secs=$CALL_SECS" \
  >"$WORK_DIR/chromium.log" 2>&1 &
CHROME_PID=$!
BG_PIDS+=("$CHROME_PID")

if ! wait_for "grep -q 'GET /done?' '$WORK_DIR/http.log'" $((CALL_SECS + 40)) "the page to finish the call"; then
  tail -20 "$WORK_DIR/chromium.log" >&2
  die "no result from the page"
fi
sleep 1 # DTLS close_notify / last RTCP after pc.close()
stop_tcpdump
kill "$CHROME_PID" 2>/dev/null || true
wait "$CHROME_PID" 2>/dev/null || true

# The page's own summary (getStats) as it reported it.
RESULT=$(grep -o 'GET /done?[^ ]*' "$WORK_DIR/http.log" | head -1 | cut -d'?' -f2-)
RESULT=$(python3 -c 'import json, sys, urllib.parse as u; print(json.dumps(json.loads(u.unquote(sys.argv[1])), indent=1))' "$RESULT")
echo "$RESULT"
if grep -q '"error"' <<<"$RESULT"; then die "the call failed"; fi
if [[ $MODE == turn ]]; then
  echo "turnserver: $(grep -c 'ALLOCATE' "$WORK_DIR/turn.log" || true) ALLOCATE log lines" >&2
fi
echo "wrote $OUT ($(stat -c %s "$OUT") bytes)"
