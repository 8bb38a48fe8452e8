#!/usr/bin/env bash
# Records captures/tls10_weak.pcap.
# Packages (Debian): openssl faketime tcpdump iproute2 util-linux
# Run as root: sudo scripts/record_tls10_weak.sh
#
# A TLS 1.0 handshake with a weak suite and an expired, self-signed RSA-1024
# certificate for legacy.example.org (valid 2015-01-01 .. 2016-01-01, dated with
# faketime). Debian's OpenSSL 3.0 has no 3DES/RC4 suites, so the weak suite is
# TLS_RSA_WITH_AES_128_CBC_SHA (static RSA key exchange, CBC, SHA-1) at TLS 1.0,
# which needs @SECLEVEL=0 on both sides. `openssl s_server` on 127.0.0.1:443
# (private netns), `openssl s_client -tls1 -servername legacy.example.org`, one
# request as application data, clean close.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
enter_netns "$0" "$@"
cd "$WORK"

faketime "2015-01-01 00:00:00" openssl req -x509 -newkey rsa:1024 -nodes -sha1 \
    -keyout legacy.key -out legacy.pem -days 365 -set_serial 0x1000 \
    -subj "/O=Legacy Example/CN=legacy.example.org" \
    -addext "subjectAltName=DNS:legacy.example.org" 2>/dev/null
printf 'hello from leakscope\n' >hello.txt

bg openssl s_server -accept 127.0.0.1:443 -naccept 1 -cert legacy.pem -key legacy.key \
    -tls1 -cipher 'AES128-SHA:@SECLEVEL=0' -WWW >server.log 2>&1
wait_port tcp 443
start_capture "$CAPTURE_DIR/tls10_weak.pcap" 'tcp port 443'
(printf 'GET /hello.txt HTTP/1.0\r\nHost: legacy.example.org\r\n\r\n'; sleep 1) |
    openssl s_client -connect 127.0.0.1:443 -servername legacy.example.org -tls1 \
        -cipher 'AES128-SHA:AES256-SHA:@SECLEVEL=0' -ign_eof >client.log 2>&1
stop_capture
grep -q 'hello from leakscope' client.log
