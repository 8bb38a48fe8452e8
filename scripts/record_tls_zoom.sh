#!/usr/bin/env bash
# Records captures/tls12_zoom.pcap and captures/tls13_zoom.pcap.
# Packages (Debian): openssl faketime tcpdump iproute2 util-linux
# Run as root: sudo scripts/record_tls_zoom.sh
#
# A throwaway CA "leakscope test CA" issues an EC P-256 certificate for zoom.us
# (SAN zoom.us, *.zoom.us). `openssl s_server` on 127.0.0.1:443 (private netns)
# sends leaf + CA and selects ALPN http/1.1; `openssl s_client -servername zoom.us`
# offers ALPN h2,http/1.1, sends one HTTP request line as application data, gets
# the served file back, and both sides close with close_notify + FIN.
# TLS 1.2 (-tls1_2): certificate visible in clear. TLS 1.3 (default, client offers 1.3+1.2): certificate encrypted.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
enter_netns "$0" "$@"
cd "$WORK"

make_ca ca "leakscope test CA"
make_leaf zoom ca "/CN=zoom.us" "DNS:zoom.us,DNS:*.zoom.us" 0x2001
printf 'hello from leakscope\n' >hello.txt

session() {
    local pcap="$1" version="$2"
    bg openssl s_server -accept 127.0.0.1:443 -naccept 1 -cert zoom.pem -key zoom.key \
        -cert_chain ca.pem -alpn http/1.1 -WWW >>server.log 2>&1
    wait_port tcp 443
    start_capture "$pcap" 'tcp port 443'
    (printf 'GET /hello.txt HTTP/1.1\r\nHost: zoom.us\r\n\r\n'; sleep 1) |
        openssl s_client -connect 127.0.0.1:443 -servername zoom.us -alpn h2,http/1.1 \
            ${version:+"$version"} -CAfile ca.pem -ign_eof >>client.log 2>&1
    stop_capture
    grep -q 'hello from leakscope' client.log
}

session "$CAPTURE_DIR/tls12_zoom.pcap" -tls1_2
: >client.log
# No version flag: the client offers TLS 1.3 and 1.2 and the server picks 1.3.
session "$CAPTURE_DIR/tls13_zoom.pcap" ""
