"""One QUIC connection between an aioquic server and an aioquic client on loopback.

Used by scripts/record_quic.sh. The server listens on 127.0.0.1:PORT with the given
certificate chain and ALPN h3; the client connects with SNI meet.google.com, opens
one bidirectional stream, sends a line, reads the server's echo, and closes the
connection (CONNECTION_CLOSE, error 0).

  quic_pair.py --cert CHAIN.pem --key KEY.pem --version 1|2 [--pad-alpn N]

--pad-alpn N appends N filler ALPN values after "h3" so that the ClientHello no
longer fits in one 1200-byte Initial packet and is split over two.
Packages (PyPI): aioquic.
"""

import argparse
import asyncio
import ssl

from aioquic.asyncio import QuicConnectionProtocol, connect, serve
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import StreamDataReceived
from aioquic.quic.packet import QuicProtocolVersion

SNI = "meet.google.com"
VERSIONS = {"1": QuicProtocolVersion.VERSION_1, "2": QuicProtocolVersion.VERSION_2}


class EchoServer(QuicConnectionProtocol):
    def quic_event_received(self, event) -> None:
        if isinstance(event, StreamDataReceived) and event.end_stream:
            self._quic.send_stream_data(event.stream_id, b"pong " + event.data, end_stream=True)
            self.transmit()


async def run(args: argparse.Namespace) -> None:
    version = VERSIONS[args.version]
    server_conf = QuicConfiguration(is_client=False, alpn_protocols=["h3"])
    server_conf.load_cert_chain(args.cert, args.key)
    server = await serve(args.host, args.port, configuration=server_conf, create_protocol=EchoServer)

    alpn = ["h3"] + [f"leakscope-pad-{i:03d}" for i in range(args.pad_alpn)]
    client_conf = QuicConfiguration(
        is_client=True,
        alpn_protocols=alpn,
        server_name=SNI,
        verify_mode=ssl.CERT_NONE,
        supported_versions=[version],
    )
    try:
        async with connect(args.host, args.port, configuration=client_conf) as client:
            reader, writer = await client.create_stream()
            writer.write(b"leakscope quic hello\n")
            writer.write_eof()
            reply = await asyncio.wait_for(reader.read(), timeout=5)
            assert reply == b"pong leakscope quic hello\n", reply
            negotiated = client._quic.tls.alpn_negotiated
            assert negotiated == "h3", negotiated
            client.close()
            await client.wait_closed()
        await asyncio.sleep(0.2)
    finally:
        server.close()
    print(f"QUIC v{args.version} ok, alpn {negotiated}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--version", choices=sorted(VERSIONS), default="1")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=443)
    parser.add_argument("--pad-alpn", type=int, default=0)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
