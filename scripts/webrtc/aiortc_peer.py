"""The far peer for record_webrtc_dtls12.sh: aiortc, with DTLS capped at 1.2.

Serves this folder on 127.0.0.1:PORT (like `python3 -m http.server`), answers POST /offer with
an aiortc RTCPeerConnection that sends the received audio and video back, and exits after the
page requests /done?<json> (printed on stdout). Loopback only: aioice would skip 127.0.0.1, so its
host-address lookup is replaced by ["127.0.0.1"].
"""

import asyncio
import json
import sys
import threading
import urllib.parse
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import aioice.ice
from OpenSSL import SSL

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay

DTLS1_2_VERSION = 0xFEFD

aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"] if use_ipv4 else []

_Context = SSL.Context


class Dtls12Context(_Context):
    """OpenSSL may offer DTLS 1.3; this peer plays a DTLS-1.2-only endpoint."""

    def __init__(self, method):
        super().__init__(method)
        if method == SSL.DTLS_METHOD:
            self.set_max_proto_version(DTLS1_2_VERSION)


SSL.Context = Dtls12Context

loop = asyncio.new_event_loop()
relay = MediaRelay()
peers = set()
done = threading.Event()


async def answer(offer: dict) -> dict:
    pc = RTCPeerConnection()
    peers.add(pc)

    @pc.on("track")
    def on_track(track):
        pc.addTrack(relay.subscribe(track))

    await pc.setRemoteDescription(RTCSessionDescription(sdp=offer["sdp"], type=offer["type"]))
    await pc.setLocalDescription(await pc.createAnswer())
    return {"sdp": pc.localDescription.sdp, "type": pc.localDescription.type}


class Handler(SimpleHTTPRequestHandler):
    def do_POST(self):
        if self.path != "/offer":
            self.send_error(404)
            return
        offer = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body = json.dumps(asyncio.run_coroutine_threadsafe(answer(offer), loop).result(20)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.startswith("/done?"):
            print(urllib.parse.unquote(self.path.split("?", 1)[1]), flush=True)
            self.send_response(204)
            self.end_headers()
            done.set()
            return
        super().do_GET()


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    threading.Thread(target=loop.run_forever, daemon=True).start()
    handler = partial(Handler, directory=str(Path(__file__).parent))
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"ready on 127.0.0.1:{port}", file=sys.stderr, flush=True)
    done.wait()
    for pc in list(peers):
        asyncio.run_coroutine_threadsafe(pc.close(), loop).result(10)
    server.shutdown()


if __name__ == "__main__":
    main()
