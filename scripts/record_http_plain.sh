#!/usr/bin/env bash
# Records captures/http_plain.pcap.
# Packages (Debian): curl python3 tcpdump iproute2 util-linux
# Run as root: sudo scripts/record_http_plain.sh
#
# `python3 -m http.server` on 127.0.0.1:80 (private netns) serves three small
# files. Three HTTP/1.1 GETs, one TCP connection each:
#   1. curl, Host: cp.pushwoosh.com, GET /json/1.3/getInApps, custom User-Agent
#   2. curl, Host: app-measurement.com, GET /config/app/1:1234567890:android:0123456789abcdef
#   3. python socket with TCP_NODELAY, Host: graph.facebook.com,
#      GET /v17.0/1234567890/activities?event=MOBILE_APP_INSTALL: the request
#      line goes in one TCP segment, then 50 ms later the headers in a second.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
enter_netns "$0" "$@"
cd "$WORK"

UA='LeakscopeTestApp/1.0 (Linux; leakscope recorder) Pushwoosh/6.7.3'
mkdir -p www/json/1.3 www/config/app www/v17.0/1234567890
printf '{"status_code":200,"status_message":"OK","response":{"inApps":[]}}\n' >www/json/1.3/getInApps
printf '{"settings":{"analytics_collection_enabled":true}}\n' >'www/config/app/1:1234567890:android:0123456789abcdef'
printf '{"success":true}\n' >www/v17.0/1234567890/activities

bg python3 -m http.server --bind 127.0.0.1 --directory www 80 >server.log 2>&1
wait_port tcp 80

start_capture "$CAPTURE_DIR/http_plain.pcap" 'tcp port 80'
curl -sS --fail -o /dev/null -H 'Host: cp.pushwoosh.com' -A "$UA" \
    http://127.0.0.1/json/1.3/getInApps
sleep 0.05
curl -sS --fail -o /dev/null -H 'Host: app-measurement.com' -A "$UA" \
    'http://127.0.0.1/config/app/1:1234567890:android:0123456789abcdef'
sleep 0.05
python3 - "$UA" <<'PY'
import socket, sys, time
ua = sys.argv[1]
line = b"GET /v17.0/1234567890/activities?event=MOBILE_APP_INSTALL HTTP/1.1\r\n"
headers = (
    "Host: graph.facebook.com\r\n"
    f"User-Agent: {ua}\r\n"
    "Accept: */*\r\n"
    "Connection: close\r\n"
    "\r\n"
).encode()
with socket.create_connection(("127.0.0.1", 80), timeout=5) as sock:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(line)
    time.sleep(0.05)
    sock.sendall(headers)
    reply = b""
    while chunk := sock.recv(4096):
        reply += chunk
assert reply.startswith(b"HTTP/1.0 200"), reply[:40]
PY
stop_capture
