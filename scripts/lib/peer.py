"""Tiny deterministic TCP/UDP peers for the capture scripts (stdlib only).

  peer.py tcp-server HOST PORT   accept one connection, read a line, answer "ok\n", close
  peer.py udp-server HOST PORT   answer one datagram with b"pong " + payload
  peer.py tcp-client HOST PORT TEXT
  peer.py udp-client HOST PORT TEXT
"""

import socket
import sys


def tcp_server(host: str, port: int) -> None:
    with socket.create_server((host, port)) as srv:
        conn, _ = srv.accept()
        with conn:
            data = b""
            while not data.endswith(b"\n"):
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
            conn.sendall(b"ok\n")


def udp_server(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, port))
        data, peer = sock.recvfrom(2048)
        sock.sendto(b"pong " + data, peer)


def tcp_client(host: str, port: int, text: str) -> None:
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(text.encode() + b"\n")
        reply = sock.recv(4096)
        sock.shutdown(socket.SHUT_WR)
        while sock.recv(4096):
            pass
    print(reply.decode().strip())


def udp_client(host: str, port: int, text: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.sendto(text.encode(), (host, port))
        print(sock.recv(2048).decode())


def main() -> None:
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "tcp-server":
        tcp_server(host, port)
    elif mode == "udp-server":
        udp_server(host, port)
    elif mode == "tcp-client":
        tcp_client(host, port, sys.argv[4])
    elif mode == "udp-client":
        udp_client(host, port, sys.argv[4])
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
