#!/bin/sh
# Records src/dissect/testdata/dtls_openssl_srtp.pcap: one DTLS 1.2 handshake on 127.0.0.1
# between `openssl s_client` and `openssl s_server`, with use_srtp (RFC 5764) and ALPN
# `webrtc` (RFC 8833), and a WebRTC-style self-signed server certificate (CN=WebRTC).
# Everything in the capture is made here; no third-party bytes. Needs root for tcpdump.
set -eu
out="${1:-src/dissect/testdata/dtls_openssl_srtp.pcap}"
tmp="$(mktemp -d)"
trap 'kill $srv $dump 2>/dev/null || true; rm -rf "$tmp"' EXIT
port=40443

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=WebRTC" -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null

tcpdump -i lo -U -s 0 -w "$out" "udp port $port" 2>/dev/null &
dump=$!
sleep 1
openssl s_server -dtls1_2 -accept "127.0.0.1:$port" -cert "$tmp/cert.pem" -key "$tmp/key.pem" \
    -use_srtp SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80 -alpn webrtc -quiet >/dev/null 2>&1 &
srv=$!
sleep 1
echo hello | timeout 5 openssl s_client -dtls1_2 -connect "127.0.0.1:$port" \
    -use_srtp SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_128_GCM -alpn webrtc,c-webrtc \
    -servername media.example -quiet >/dev/null 2>&1 || true
sleep 1
kill $srv $dump 2>/dev/null || true
wait $dump 2>/dev/null || true
echo "wrote $out"
