"""Replay throughput and memory against tshark, on the same captures in the same run.

    python benchmarks/bench_replay.py [--records N] [--small CAPTURE KEYLOG]

1. a small reference capture (start-up cost dominates for both tools);
2. a synthetic TLS 1.3 capture with more than 100,000 records (AES-GCM records made with cryptography from a key
   log generated here), written as pcap.
Records/s = TLS records decoded and decrypted per second of wall time, for `replay()` and for
`tshark -T fields` with the key log. Peak memory: tracemalloc peak of one replay (Python allocations) on captures of
two sizes, to show it does not grow with the capture; and the maximum resident set size of each tshark run.
Prints ratios; the target is >= 1.5x tshark's records/s.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from workbench.capture import replay  # noqa: E402
from workbench.capture.synthetic import write_tls13_capture  # noqa: E402

from tests.shared import CAPTURES  # noqa: E402

SMALL = (str(CAPTURES / "wireshark" / "tls13-rfc8446.pcap"), str(CAPTURES / "wireshark" / "tls13-rfc8446.keys"))


def run_replay(capture: str, keylog: str) -> tuple[int, int, float]:
    start = time.perf_counter()
    records = decrypted = 0
    for rec in replay(capture, keylog):
        records += 1
        decrypted += rec.decrypted
    return records, decrypted, time.perf_counter() - start


def run_tshark(capture: str, keylog: str) -> tuple[int, float, int]:
    """(records tshark reported, seconds, its max RSS in KiB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run(["tshark", "-n", "-r", capture, "-o", f"tls.keylog_file:{keylog}", "-Y", "tls",
                           "-T", "fields", "-e", "frame.number", "-e", "tls.record.content_type"],
                          capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    records = sum(len(line.split("\t")[1].split(",")) for line in proc.stdout.splitlines()
                  if "\t" in line and line.split("\t")[1])
    return records, elapsed, rss if rss > before else before


def peak_memory(capture: str, keylog: str) -> int:
    tracemalloc.start()
    for _ in replay(capture, keylog):
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=120_000, help="application records in the synthetic capture")
    ap.add_argument("--small", nargs=2, metavar=("CAPTURE", "KEYLOG"), default=SMALL)
    args = ap.parse_args()
    if shutil.which("tshark") is None:
        sys.exit("tshark is not installed")

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    small, small_keys = args.small
    ours = min((run_replay(small, small_keys) for _ in range(5)), key=lambda r: r[2])
    theirs = min((run_tshark(small, small_keys) for _ in range(3)), key=lambda r: r[1])
    print(f"\nsmall capture {os.path.basename(small)}: {ours[0]} records ({ours[1]} decrypted)")
    print(f"  replay : {ours[2] * 1000:8.1f} ms  {ours[0] / ours[2]:10.0f} records/s")
    print(f"  tshark : {theirs[1] * 1000:8.1f} ms  {theirs[0] / theirs[1]:10.0f} records/s ({theirs[0]} records)")
    print(f"  ratio  : {(ours[0] / ours[2]) / (theirs[0] / theirs[1]):.1f}x tshark")

    with tempfile.TemporaryDirectory() as tmp:
        big, big_keys = os.path.join(tmp, "synthetic.pcap"), os.path.join(tmp, "synthetic.keys")
        start = time.perf_counter()
        keylog = write_tls13_capture(big, records=args.records // 2, connections=2, key_update_every=5000)
        with open(big_keys, "w") as f:
            f.write(keylog)
        print(f"\nsynthetic TLS 1.3 capture: {os.path.getsize(big) / 1e6:.0f} MB, "
              f"written in {time.perf_counter() - start:.1f} s")
        ours = min((run_replay(big, big_keys) for _ in range(2)), key=lambda r: r[2])
        theirs = run_tshark(big, big_keys)
        print(f"  replay : {ours[2]:8.2f} s  {ours[0] / ours[2]:10.0f} records/s "
              f"({ours[0]} records, {ours[1]} decrypted)")
        print(f"  tshark : {theirs[1]:8.2f} s  {theirs[0] / theirs[1]:10.0f} records/s ({theirs[0]} records)")
        ratio = (ours[0] / ours[2]) / (theirs[0] / theirs[1])
        print(f"  ratio  : {ratio:.2f}x tshark (target >= 1.5x)")

        quarter, quarter_keys = os.path.join(tmp, "quarter.pcap"), os.path.join(tmp, "quarter.keys")
        with open(quarter_keys, "w") as f:
            f.write(write_tls13_capture(quarter, records=args.records // 8, connections=2, key_update_every=5000))
        small_peak = peak_memory(quarter, quarter_keys)
        big_peak = peak_memory(big, big_keys)
        print(f"\npeak memory of replay (tracemalloc): {small_peak / 1e6:.2f} MB for {args.records // 4} records, "
              f"{big_peak / 1e6:.2f} MB for {args.records} records (ratio {big_peak / small_peak:.2f})")
        print(f"max RSS: this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB, "
              f"tshark {theirs[2] / 1024:.0f} MB")


if __name__ == "__main__":
    main()
