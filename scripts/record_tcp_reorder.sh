#!/usr/bin/env bash
# Records captures/tcp_reorder.pcap.
# Packages (Debian): python3 openssl faketime tcpdump iproute2 util-linux
# Run as root: sudo scripts/record_tcp_reorder.sh
#
# `openssl s_server` on 127.0.0.1:443 (private netns, certificate for
# reorder.example.net from the throwaway "leakscope test CA"); a Python ssl client
# (MemoryBIO, SNI reorder.example.net, ALPN h2,http/1.1, TCP_NODELAY) writes its
# ClientHello in three writes 10 ms apart, i.e. three real TCP segments S1..S3,
# then finishes the handshake, sends one request line, reads the file, closes.
# Then scripts/lib/pcap_reorder.py rewrites the packet order to S1, S3, S2, S2
# (S2 late, then retransmitted as an exact copy; the server ACK of S2 moves to
# just after S2). Every packet's bytes are unchanged; timestamps stay increasing.
# tshark needs -o tcp.reassemble_out_of_order:TRUE to find the SNI.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
enter_netns "$0" "$@"
cd "$WORK"

make_ca ca "leakscope test CA"
make_leaf reorder ca "/CN=reorder.example.net" "DNS:reorder.example.net" 0x2004
printf 'hello from leakscope\n' >hello.txt

bg openssl s_server -accept 127.0.0.1:443 -naccept 1 -cert reorder.pem -key reorder.key \
    -cert_chain ca.pem -alpn http/1.1 -WWW >server.log 2>&1
wait_port tcp 443
start_capture "$WORK/inorder.pcap" 'tcp port 443'
python3 - <<'PY'
import socket, ssl, time
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.set_alpn_protocols(["h2", "http/1.1"])
into_tls, out_of_tls = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = ctx.wrap_bio(into_tls, out_of_tls, server_hostname="reorder.example.net")
sock = socket.create_connection(("127.0.0.1", 443), timeout=5)
sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

def flush():
    data = out_of_tls.read()
    if data:
        sock.sendall(data)

def pump():
    data = sock.recv(65536)
    if not data:
        raise ConnectionError("server closed")
    into_tls.write(data)

try:
    tls.do_handshake()
except ssl.SSLWantReadError:
    pass
hello = out_of_tls.read()
third = len(hello) // 3 + 1
for i in range(0, len(hello), third):  # three writes -> three TCP segments
    sock.sendall(hello[i : i + third])
    time.sleep(0.01)
while True:
    try:
        tls.do_handshake()
        break
    except ssl.SSLWantReadError:
        flush()
        pump()
flush()
tls.write(b"GET /hello.txt HTTP/1.1\r\nHost: reorder.example.net\r\n\r\n")
flush()
reply = b""
while b"hello from leakscope" not in reply:
    try:
        reply += tls.read(4096)
    except ssl.SSLWantReadError:
        pump()
try:
    tls.unwrap()
except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
    pass
flush()
sock.close()
PY
stop_capture
python3 "$REPO_DIR/scripts/lib/pcap_reorder.py" "$WORK/inorder.pcap" "$CAPTURE_DIR/tcp_reorder.pcap" 443
