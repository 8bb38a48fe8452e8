#!/usr/bin/env bash
# Records a real SIP call between two baresip user agents on 127.0.0.1 (no registrar).
#   scripts/record_sip.sh plain -> captures/sip_rtp_plain.pcap  (RTP/AVP, PCMU, cleartext RTP)
#   scripts/record_sip.sh sdes  -> captures/sip_sdes_srtp.pcap  (RTP/SAVP, PCMA, SRTP keyed by
#                                   SDES: the a=crypto: keys travel in the clear SIP/SDP)
# alice (127.0.0.1:5061) dials bob (127.0.0.1:5063), bob auto-answers, ~6 s of a 440 Hz tone
# each way (aufile source; ALSA "null" player, so no sound card), alice hangs up (BYE).
# 6 s (CALL_SECS) so that one RTCP SR per side, sent at ~5 s, is in the capture.
# RTCP is not muxed (RTP port + 1). SIP over UDP (baresip also listens on TCP/TLS, unused).
# Run as root on Debian 12. Everything happens in a private network namespace holding only lo.
# Debian packages: baresip-core tcpdump python3 iproute2 util-linux
# npm / PyPI packages: none
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"

MODE=${1:-plain}
CALL_SECS=${CALL_SECS:-6}
case $MODE in
  plain) NAME=sip_rtp_plain; CODEC=PCMU; MEDIAENC= ;;
  sdes) NAME=sip_sdes_srtp; CODEC=PCMA; MEDIAENC=';mediaenc=srtp-mand' ;;
  *) die "usage: $0 plain|sdes" ;;
esac
OUT=${OUT:-$HERE/../captures/$NAME.pcap}

if [[ -z "${LEAKSCOPE_IN_NETNS:-}" ]]; then
  ensure_pkgs baresip-core tcpdump python3 iproute2 util-linux
fi
enter_loopback_netns "$0" "$@"

WORK_DIR=$(mktemp -d)
trap cleanup EXIT
OUT=$(realpath -m "$OUT")
mkdir -p "$(dirname "$OUT")"

# 10 s of 440 Hz, 8 kHz mono s16 (what G.711 carries, so no resampling).
python3 - "$WORK_DIR/tone.wav" <<'PY'
import math, struct, sys, wave
with wave.open(sys.argv[1], "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)
    w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / 8000)))
                           for i in range(8000 * 10)))
PY

# ua NAME PORT ACCOUNT_PARAMS: a baresip config dir. Port+1 is taken by baresip's SIP/TLS
# listener, hence 5061 and 5063.
ua() {
  local dir=$WORK_DIR/$1
  mkdir -p "$dir"
  cat >"$dir/config" <<CFG
poll_method		epoll
sip_listen		127.0.0.1:$2
net_interface		127.0.0.1
audio_player		alsa,null
audio_alert		alsa,null
audio_source		aufile,$WORK_DIR/tone.wav
rtcp_mux		no
module_path		/usr/lib/baresip/modules
module			stdio.so
module			g711.so
module			aufile.so
module			alsa.so
module			srtp.so
module_tmp		account.so
module_app		menu.so
CFG
  echo "<sip:$1@127.0.0.1:$2>;regint=0;audio_codecs=$CODEC$MEDIAENC$3" >"$dir/accounts"
}
ua alice 5061 ''
ua bob 5063 ';answermode=auto'

start_tcpdump "$OUT" udp

mkfifo "$WORK_DIR/bob.in"
baresip -f "$WORK_DIR/bob" -t 60 <"$WORK_DIR/bob.in" >"$WORK_DIR/bob.log" 2>&1 &
BOB_PID=$!
BG_PIDS+=("$BOB_PID")
exec 3>"$WORK_DIR/bob.in" # keep bob's stdin open until we say /quit
wait_for "grep -q 'baresip is ready' '$WORK_DIR/bob.log'" 10 "bob" || { cat "$WORK_DIR/bob.log" >&2; die "bob did not start"; }

# alice dials at start-up (-e), hangs up after CALL_SECS of media, then quits.
{
  wait_for "grep -q 'Call established' '$WORK_DIR/alice.log' 2>/dev/null" 10 "the call" || true
  sleep "$CALL_SECS"
  printf '/hangup\n'
  sleep 1
  printf '/quit\n'
} | baresip -f "$WORK_DIR/alice" -t 60 -e "/dial sip:bob@127.0.0.1:5063" >"$WORK_DIR/alice.log" 2>&1

printf '/quit\n' >&3
exec 3>&-
wait "$BOB_PID" || true
stop_tcpdump

clean_log() { tr '\r' '\n' <"$1" | sed 's/\x1b\[[0-9;]*m//g' | grep -vE '^\s*$|audio=[0-9]+/[0-9]+ \(bit/s\)'; }
clean_log "$WORK_DIR/alice.log" | grep -E 'established|terminated|SRTP|encoder|decoder' >&2 || true
clean_log "$WORK_DIR/bob.log" | grep -E 'established|terminated|SRTP' >&2 || true
grep -q 'Call established' "$WORK_DIR/alice.log" || { clean_log "$WORK_DIR/alice.log" >&2; die "no call"; }
echo "wrote $OUT ($(stat -c %s "$OUT") bytes)"
