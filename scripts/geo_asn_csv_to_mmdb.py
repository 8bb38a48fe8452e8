#!/usr/bin/env python3
"""Convert ip-location-db's asn-ipv4.csv + asn-ipv6.csv into one MMDB file.

Usage: geo_asn_csv_to_mmdb.py ASN_IPV4_CSV ASN_IPV6_CSV OUT_MMDB VERSION

CSV rows are `range_start,range_end,asn,organisation` (inclusive ranges).
The records use GeoLite2-ASN's field names (`autonomous_system_number`,
`autonomous_system_organization`), so leakscope reads this file, GeoLite2-ASN and
DB-IP's ASN Lite mmdb with the same code. IPv4 lives in the IPv6 tree at ::/96, as
in MaxMind's own databases. Identical records are stored once (the writer dedups
data by value), so each organisation name is in the file only once.

Needs PyPI packages: mmdb-writer (pulls netaddr) and maxminddb (for the self-check).
"""

import csv
import ipaddress
import random
import sys
import time
from collections import defaultdict
from datetime import datetime, timezone

import maxminddb
from mmdb_writer import MMDBWriter, MmdbU32
from netaddr import IPSet, iprange_to_cidrs

# How many CSV rows the self-check looks up again in the written file.
SELF_CHECK_ROWS = 20000


def read_ranges(path):
    """Rows as (start_int, end_int, asn, org), sorted, with overlaps clipped.

    Upstream data is nearly overlap-free (one DoD overlap in 2026-06); where a range
    starts inside its predecessor, the later (narrower) row wins and the earlier one
    is clipped, so insertion order cannot change the result.
    """
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        for rec in csv.reader(f):
            if len(rec) < 3:
                continue
            start = int(ipaddress.ip_address(rec[0]))
            end = int(ipaddress.ip_address(rec[1]))
            asn = int(rec[2])
            org = rec[3].strip() if len(rec) > 3 else ""
            if end < start or asn == 0:
                continue
            rows.append([start, end, asn, org])
    rows.sort(key=lambda r: (r[0], r[1]))
    clipped = 0
    for prev, cur in zip(rows, rows[1:]):
        if cur[0] <= prev[1]:
            prev[1] = cur[0] - 1
            clipped += 1
    rows = [r for r in rows if r[1] >= r[0]]
    print(f"{path}: {len(rows)} ranges, {clipped} clipped overlaps", file=sys.stderr)
    return rows


def data_epoch(version):
    """ip-location-db versions end in the data time, e.g. 2.3.2026061719 (UTC hour).

    Using it as the MMDB build_epoch makes rebuilds of one version byte-identical
    (no git churn) and lets leakscope report the data's age. Falls back to now.
    """
    stamp = version.rsplit(".", 1)[-1]
    try:
        when = datetime.strptime(stamp, "%Y%m%d%H").replace(tzinfo=timezone.utc)
        return int(when.timestamp())
    except ValueError:
        return int(time.time())


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    v4_csv, v6_csv, out, version = sys.argv[1:]
    v4 = read_ranges(v4_csv)
    v6 = read_ranges(v6_csv)

    groups = defaultdict(list)
    for rows, ver in ((v4, 4), (v6, 6)):
        for start, end, asn, org in rows:
            groups[(asn, org)].append((ver, start, end))

    writer = MMDBWriter(
        ip_version=6,
        ipv4_compatible=True,
        database_type="ipLocationDb-ASN",
        languages=["en"],
        description={
            "en": f"IP to ASN from ip-location-db @ip-location-db/asn {version} "
            "(RouteViews, NRO/RIR delegations, DB-IP ASN Lite; CC BY 4.0)",
        },
        int_type="u32",
    )
    build_meta = writer._build_meta  # mmdb-writer stamps time.time(); pin it instead
    writer._build_meta = lambda: {**build_meta(), "build_epoch": data_epoch(version)}
    t0 = time.time()
    for (asn, org), ranges in groups.items():
        # One bulk IPSet per group: IPSet.add() re-compacts on every call (quadratic).
        cidrs = []
        for ver, start, end in ranges:
            cls = ipaddress.IPv4Address if ver == 4 else ipaddress.IPv6Address
            cidrs.extend(iprange_to_cidrs(str(cls(start)), str(cls(end))))
        nets = IPSet(cidrs)
        record = {"autonomous_system_number": MmdbU32(asn)}
        if org:
            record["autonomous_system_organization"] = org
        writer.insert_network(nets, record)
    print(f"inserted {len(groups)} (asn, org) groups in {time.time() - t0:.0f}s", file=sys.stderr)
    writer.to_db_file(out)

    # Self-check: random rows must read back with their ASN at start, end and middle.
    rng = random.Random(1)
    sample = rng.sample(v4, min(SELF_CHECK_ROWS // 2, len(v4))) + [
        (s, e, a, o, 6) for s, e, a, o in rng.sample(v6, min(SELF_CHECK_ROWS // 2, len(v6)))
    ]
    bad = 0
    with maxminddb.open_database(out) as reader:
        for row in sample:
            start, end, asn, org = row[:4]
            cls = ipaddress.IPv6Address if len(row) == 5 else ipaddress.IPv4Address
            for ip in (start, end, (start + end) // 2):
                rec = reader.get(str(cls(ip)))
                if not rec or rec.get("autonomous_system_number") != asn:
                    bad += 1
                    if bad <= 5:
                        print(f"mismatch {cls(ip)}: want AS{asn} {org!r}, got {rec}", file=sys.stderr)
    if bad:
        sys.exit(f"self-check failed: {bad} mismatches")
    print(f"self-check ok ({len(sample)} rows)", file=sys.stderr)


if __name__ == "__main__":
    main()
