#!/usr/bin/env bash
# Records captures/dns_then_connect.pcap.
# Packages (Debian): dnsmasq-base dnsutils python3 tcpdump iproute2 util-linux
# Run as root: sudo scripts/record_dns_then_connect.sh
#
# dnsmasq on 127.0.0.1:53 (private netns) answers api.zoom.us A 127.0.0.12 and
# graph.facebook.com A 127.0.0.13 (dig over UDP). The script then uses the
# addresses from those answers: a plain TCP connection (no TLS) to
# 127.0.0.12:443 that sends one text line and gets "ok", and a plain UDP
# request/reply with 127.0.0.13:40000 (scripts/lib/peer.py). Nothing in the
# TCP/UDP payloads names the hosts: only the DNS answers do.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
enter_netns "$0" "$@"
cd "$WORK"
PEER="$REPO_DIR/scripts/lib/peer.py"

bg dnsmasq --no-daemon --conf-file=/dev/null --pid-file= --user=root \
    --port=53 --listen-address=127.0.0.1 --bind-interfaces --no-resolv --no-hosts \
    --local-ttl=300 --log-queries \
    --host-record=api.zoom.us,127.0.0.12 \
    --host-record=graph.facebook.com,127.0.0.13 >dns.log 2>&1
bg python3 "$PEER" tcp-server 127.0.0.12 443
bg python3 "$PEER" udp-server 127.0.0.13 40000
wait_port udp 53
wait_port tcp 443
wait_port udp 40000

start_capture "$CAPTURE_DIR/dns_then_connect.pcap" 'port 53 or port 443 or port 40000'
zoom_ip="$(dig @127.0.0.1 +short api.zoom.us A)"
fb_ip="$(dig @127.0.0.1 +short graph.facebook.com A)"
[ "$zoom_ip" = 127.0.0.12 ] && [ "$fb_ip" = 127.0.0.13 ]
sleep 0.05
python3 "$PEER" tcp-client "$zoom_ip" 443 "leakscope plain tcp hello"
sleep 0.05
python3 "$PEER" udp-client "$fb_ip" 40000 "leakscope udp ping"
stop_capture
