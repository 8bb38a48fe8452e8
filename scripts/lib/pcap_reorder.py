"""Reorder the TCP segments that carry a client's first flight in a classic pcap.

  pcap_reorder.py IN.pcap OUT.pcap SERVER_PORT

Finds the first client->server TCP segments with payload (up to the first
server->client payload), calls them S1..Sn (n >= 3 needed) and writes the
packets in the order S1, S3, S2, S2', S4..Sn, where S2' is an exact copy of S2
(a retransmission); server ACKs sent between S2 and S3 move to just after S2.
Only whole records move: every packet keeps its bytes. The
capture timestamps stay where they were (position i keeps the original time of
position i), so time still runs forward while sequence numbers jump; the copy
gets a time halfway to the next packet. Ethernet + IPv4 only. Stdlib only.
"""

import struct
import sys


def read_pcap(path: str) -> tuple[bytes, list[tuple[int, int, bytes]]]:
    data = open(path, "rb").read()
    header, off, records = data[:24], 24, []
    if header[:4] != b"\xd4\xc3\xb2\xa1":
        sys.exit("expected a little-endian microsecond pcap")
    while off + 16 <= len(data):
        sec, usec, incl, _orig = struct.unpack_from("<IIII", data, off)
        records.append((sec, usec, data[off + 16 : off + 16 + incl]))
        off += 16 + incl
    return header, records


def tcp_info(frame: bytes) -> tuple[int, int, int] | None:
    """(src_port, dst_port, payload_len) for Ethernet/IPv4/TCP frames."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return None
    ihl = (frame[14] & 0x0F) * 4
    total = struct.unpack_from(">H", frame, 16)[0]
    tcp = 14 + ihl
    sport, dport = struct.unpack_from(">HH", frame, tcp)
    doff = (frame[tcp + 12] >> 4) * 4
    return sport, dport, total - ihl - doff


def main() -> None:
    src, dst, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    header, records = read_pcap(src)
    first_flight = []
    for index, (_s, _u, frame) in enumerate(records):
        info = tcp_info(frame)
        if info is None or info[2] == 0:
            continue
        if info[0] == port:
            break
        if info[1] == port:
            first_flight.append(index)
    if len(first_flight) < 3:
        sys.exit(f"need >= 3 client segments before the server answers, got {len(first_flight)}")
    _s1, s2, s3 = first_flight[:3]
    frames = [frame for _s, _u, frame in records]
    times = [sec * 1_000_000 + usec for sec, usec, _f in records]
    # Positions s2..s3 held S2, the server's ACKs of S2, S3. They become S3, S2,
    # those ACKs, S2 again: the receiver can only acknowledge S2 once it came.
    middle = frames[s2 + 1 : s3]
    frames[s2 : s3 + 1] = [frames[s3], frames[s2], *middle, frames[s2]]
    t_last = times[s3]
    t_next = times[s3 + 1] if s3 + 1 < len(times) else t_last + 2
    times.insert(s3 + 1, max(t_last + 1, (t_last + t_next) // 2))
    for i in range(s3 + 2, len(times)):  # time must still run forward
        times[i] = max(times[i], times[i - 1] + 1)
    with open(dst, "wb") as out:
        out.write(header)
        for micros, frame in zip(times, frames):
            sec, usec = divmod(micros, 1_000_000)
            out.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)))
            out.write(frame)
    print(f"client segments at records {[i + 1 for i in first_flight]}: wrote S1,S3,S2,S2(copy)")


if __name__ == "__main__":
    main()
