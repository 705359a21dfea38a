"""How the notebook front end copes with a 100,000-record timeline.

    python benchmarks/bench_ui.py [--records N] [--page-size 100]

A synthetic TLS 1.3 capture with N application records (KeyUpdates every N/5) is replayed into a timeline
(the way the workbench loads any capture), then the workbench renders pages of it:

- page rows: the packet list's rows for one page (what the browser receives);
- full refresh: the rows plus every view (sequence diagram of the page, key schedule, epoch lanes, wallet,
  timeline text);
- selection: the inspector for one record (scapy's field tree, spans, hex view).

Each is timed on the first, middle and last page. The anchor is 100 ms, the delay under which a list
still feels immediate; the ratio printed is anchor / measured (above 1: faster than the anchor). This is
a measurement, not a test: nothing fails.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

ANCHOR = 0.100          # seconds: a list that answers within this feels immediate


def timed(function, repeat: int = 5) -> float:
    """The median wall time of `function()` over `repeat` runs."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def report(name: str, seconds: float) -> None:
    print(f"  {name:<34} {seconds * 1000:9.2f} ms   anchor/measured = {ANCHOR / seconds:8.1f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=100)
    args = parser.parse_args()

    from workbench.capture.synthetic import write_tls13_capture
    from workbench.ui.render.packet_rows import page_rows
    from workbench.ui.runs.capture import CaptureRun
    from workbench.ui.widgets.app import Workbench

    folder = tempfile.mkdtemp(prefix="bench-ui-")
    capture = os.path.join(folder, "big.pcap")
    keylog = os.path.join(folder, "big.keys")
    with open(keylog, "w") as handle:
        handle.write(write_tls13_capture(capture, records=args.records,
                                         key_update_every=max(1, args.records // 5)))
    start = time.perf_counter()
    run = CaptureRun(capture, keylog).start(background=False)
    loaded = time.perf_counter() - start
    timeline = run.timeline
    total = len(timeline)
    print(f"timeline: {total:,} records, {len(timeline.connections)} connection(s), loaded in {loaded:.1f} s "
          f"({total / loaded:,.0f} records/s, in the background in the workbench)")

    wb = Workbench(page_size=args.page_size)
    wb._start(run)
    wb.follow.value = False
    pages = {"first": 0, "middle": total // 2 // args.page_size * args.page_size,
             "last": (total - 1) // args.page_size * args.page_size}
    print(f"page of {args.page_size} records:")
    for name, page_start in pages.items():
        report(f"page rows ({name} page)", timed(lambda: page_rows(timeline, page_start, args.page_size)))
    for name, page_start in pages.items():
        def refresh(page_start=page_start):
            wb.page_start = page_start
            wb.refresh()
        report(f"full refresh ({name} page)", timed(refresh))
    wb.select(pages["middle"])            # the first selection imports scapy: not what a click costs later
    for name, page_start in pages.items():
        index = page_start + 1

        def select(index=index):
            wb._inspected = None
            wb.select(-1)
            wb.select(index)
        report(f"select a record ({name} page)", timed(select))
    return 0


if __name__ == "__main__":
    sys.exit(main())
