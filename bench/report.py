#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""report.py LOG OUTDIR [--readme README]

Turns the "VWBENCH-CSV:" lines of one bench console log (tests/vm/bench.sh)
into OUTDIR/<date>-<kernel>.csv and .md, and OUTDIR/<date>-<kernel>-iops.png
and -p99.png (gnuplot).  LOG may also be a .csv written by an earlier run
(bench/results/*.csv, any of its column sets; the run's parameters are then
unknown).  With --readme, replaces the README section between the
"bench-results" markers with the goals and the summary.  Prints the .md path.
"""
import csv
import datetime
import os
import re
import subprocess
import sys

# The columns of the CSV written here.  bench.sh names its columns in
# VWBENCH-PARAMS (csv_fields=); logs from before that have LEGACY_FIELDS.
# The note is always last (it may hold commas).
FIELDS = ["kernel", "system", "workload", "iops", "lat_mean_us", "p99_us",
          "vm_writes", "origin_writes", "origin_w_per_vm_w",
          "ssd_bytes_per_vm_byte", "ram_bytes_per_block",
          "slabvm_bytes_per_block", "cpu_us_per_io", "flush_s", "dirty_mib",
          "meminfo_bytes_per_block", "origin_blocks", "distinct_blocks", "note"]
LEGACY_FIELDS = [f for f in FIELDS if f not in ("origin_blocks", "distinct_blocks")]
SYSTEMS = ["raw-ssd", "raw-origin", "dm-vwcache", "dm-vwcache-old",
           "dm-writecache", "dm-cache", "bcache"]
WORKLOADS = ["randwrite", "hotread", "zipf", "seqwrite", "mixed", "fsync",
             "8vm", "qd32", "flush", "flush2"]
FLUSHES = ["flush", "flush2"]   # timed flushes, no IOPS comparison
WDESC = {
    "randwrite": "4 KiB random write, QD16",
    "hotread": "4 KiB random read of a warmed hot set, QD16",
    "zipf": "4 KiB random rewrite, zipf theta 1.2, QD16",
    "seqwrite": "64 KiB sequential write, QD16",
    "mixed": "4 KiB 70/30 random read/write, QD16 (one warm read pass)",
    "fsync": "4 KiB random write, QD16, fsync every 32 writes",
    "8vm": "8 VM devices at once, 4 KiB random write, QD4 each",
    "qd32": "1 VM device, 4 KiB random write, QD32 over as much data as the 8vm's eight devices (8 x one's depth and region)",
    "flush": "write N MiB of distinct random 4 KiB blocks (IOPS: of that fill), then flush them",
    "flush2": "flush, with the origin delayed FLUSH2 ms instead",
}
ME = "dm-vwcache"
BEGIN = "<!-- bench-results begin: written by make bench (bench/report.py) -->"
END = "<!-- bench-results end -->"


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def fmt(v, nd=None):
    if v is None:
        return "-"
    if nd is None:
        if abs(v) >= 100:
            return "%d" % round(v)
        if abs(v) >= 10:
            return "%.1f" % v
        return "%.2f" % v
    return ("%%.%df" % nd) % v


def parse_csv(path):
    """rows of a .csv written by report.py (any of its column sets)"""
    with open(path, newline="", errors="replace") as f:
        rows = []
        for x in csv.DictReader(f):
            rows.append({k: (x.get(k) or "") for k in FIELDS})
    return rows, {}, True


def parse(log):
    with open(log, errors="replace") as f:
        if f.readline().startswith("kernel,system,workload,"):
            return parse_csv(log)
    rows, params, done = [], {}, False
    fields = LEGACY_FIELDS
    with open(log, errors="replace") as f:
        for line in f:
            m = re.search(r"VWBENCH-CSV: (.*)$", line.rstrip("\r\n"))
            if m:
                vals = m.group(1).split(",", len(fields) - 1)
                vals += [""] * (len(fields) - len(vals))
                x = {k: "" for k in FIELDS}
                x.update(zip(fields, vals))
                rows.append(x)
                continue
            m = re.search(r"VWBENCH-PARAMS: (.*)$", line)
            if m:
                params = dict(kv.split("=", 1) for kv in m.group(1).split()
                              if "=" in kv)
                if "csv_fields" in params:
                    fields = params["csv_fields"].split(",")
            if "VWBENCH-DONE" in line:
                done = True
    return rows, params, done


class Results:
    def __init__(self, rows):
        self.r = {(x["system"], x["workload"]): x for x in rows}

    def get(self, sys_, w, key):
        x = self.r.get((sys_, w))
        return num(x[key]) if x else None

    def ratio(self, w, key, other):
        a, b = self.get(ME, w, key), self.get(other, w, key)
        if a is None or b is None or b == 0:
            return None
        return a / b


# Where the CSV knows how many distinct 4 KiB blocks a workload wrote: the
# workloads whose origin writes the goal "origin writes never above the
# distinct blocks written" is judged on, and whether the count is exact
# (zipf's is from runs that say zipf_distinct=exact in their parameters; a
# bound before, and unknown in a .csv, which does not keep the parameters).
DISTINCT = [("randwrite", "exact"), ("zipf", "upper bound"),
            ("flush", "exact"), ("flush2", "exact")]


def goals(res, params=None):
    """Issue 18's goals: [(text, met: True/False/None, detail)]; None is
    "not measured" (a system or workload missing from the run)."""
    params = params or {}
    out = []

    def show(v, nd=2):
        return fmt(v, nd) if v is not None else "n/a"

    def vs(w, other, k, text):
        r = res.ratio(w, "iops", other)
        a, b = res.get(ME, w, "iops"), res.get(other, w, "iops")
        out.append((text, None if r is None else r >= k,
                    "%s x (%s vs %s IOPS)" % (show(r), show(a, 0), show(b, 0))))

    vs("randwrite", "dm-writecache", 1.1,
       "4 KiB random write QD16 >= 1.1 x dm-writecache")
    vs("randwrite", "raw-ssd", 0.95, "4 KiB random write QD16 >= 0.95 x raw SSD")
    vs("hotread", "raw-ssd", 0.95, "read hits (warmed hot set) >= 0.95 x raw SSD")
    vs("seqwrite", "raw-ssd", 0.9, "64 KiB sequential write >= 0.9 x raw SSD")
    vs("mixed", "raw-ssd", 0.8, "70/30 mixed on a warmed set >= 0.8 x raw SSD")
    vs("fsync", "raw-ssd", 0.9, "fsync every 32 writes >= 0.9 x raw SSD")
    a, b = res.get(ME, "8vm", "iops"), res.get(ME, "qd32", "iops")
    r = a / b if a is not None and b else None
    out.append(("8 VMs on one pool >= 0.95 x one VM at 8 x the depth",
                None if r is None else r >= 0.95,
                "%s x (8 x QD4 %s IOPS, 1 x QD32 %s IOPS)" % (show(r), show(a, 0), show(b, 0))))
    for w, ms in (("flush", params.get("delay_ms")),
                  ("flush2", params.get("flush2_delay_ms", "2"))):
        a, b = res.get(ME, w, "flush_s"), res.get("dm-writecache", w, "flush_s")
        r = a / b if a is not None and b else None
        da, db = res.get(ME, w, "dirty_mib"), res.get("dm-writecache", w, "dirty_mib")
        out.append(("flush of the same dirty data <= 0.8 x dm-writecache's time "
                    "(%s: origin delay %s)" % (w, "%s ms" % ms if ms else "not recorded"),
                    None if r is None else r <= 0.8,
                    "%s x (%s s vs %s s; dirty at flush start %s vs %s MiB)"
                    % (show(r), show(a), show(b), show(da, 1), show(db, 1))))
    # Pool-wide lock acquisitions per I/O (the note's "locks/io", from the
    # pool's sysfs locks/): hotread is all read hits; zipf's writes are
    # mostly in-place writes to dirty blocks (its note's coalesced share).
    def locks(w):
        x = res.r.get((ME, w))
        m = re.search(r"([0-9.]+) locks/io", (x or {}).get("note") or "")
        return float(m.group(1)) if m else None
    lr, lz = locks("hotread"), locks("zipf")
    others = ["%s %s" % (w, show(locks(w), 3)) for w in WORKLOADS
              if w not in ("hotread", "zipf") and locks(w) is not None]
    out.append(("pool-wide lock acquisitions <= 0.1 per read hit and per dirty write hit",
                None if lr is None else lr <= 0.1,
                "hotread (read hits) %s, zipf (mostly dirty write hits) %s per I/O; "
                "exact per kind: tests/vm/tests/92-lock-counts.sh%s"
                % (show(lr, 3), show(lz, 3),
                   "; the others (misses, fills, writes around take cache_lock): " +
                   ", ".join(others) if others else "")))
    # Origin writes: 4 KiB blocks written to the origin's disk, against the
    # distinct 4 KiB blocks fio wrote (see the notes on method).
    parts, met, seen = [], True, False
    for w, kind in DISTINCT:
        if w == "zipf" and params.get("zipf_distinct") == "exact":
            kind = "exact"
        elif w == "zipf" and not params:
            kind = "exact, or an upper bound in runs before zipf was counted"
        ob, db = res.get(ME, w, "origin_blocks"), res.get(ME, w, "distinct_blocks")
        if ob is None or db is None:
            if res.get(ME, w, "iops") is not None:
                parts.append("%s not measured" % w)
            continue
        seen = True
        met = met and ob <= db
        parts.append("%s %s <= %s%s" % (w, show(ob, 0), show(db, 0),
                                        "" if kind == "exact" else " (%s)" % kind))
    out.append(("origin writes never above the distinct blocks written",
                met if seen else None,
                "; ".join(parts) + " (4 KiB blocks written to the origin vs distinct "
                "4 KiB blocks written)" if seen else "no origin_blocks/distinct_blocks in this run"))
    # CPU per I/O against dm-writecache, every workload both ran.
    mine = [w for w in WORKLOADS if res.get(ME, w, "cpu_us_per_io") is not None]
    both = [w for w in mine if res.get("dm-writecache", w, "cpu_us_per_io") is not None]
    worse = []
    for w in both:
        a, b = res.get(ME, w, "cpu_us_per_io"), res.get("dm-writecache", w, "cpu_us_per_io")
        if a > b:
            worse.append("%s %s vs %s us" % (w, show(a, 0), show(b, 0)))
    detail = ("%d of %d workloads above dm-writecache%s" % (len(worse), len(both),
              ": " + ", ".join(worse) if worse else "")) if both else "no workload ran on both"
    left = [w for w in mine if w not in both]
    if both and left:
        detail += "; not compared (no dm-writecache row): " + ", ".join(left)
    out.append(("guest CPU per I/O <= dm-writecache's on every workload",
                (not worse) if both else None, detail))
    return out


def extra_lines(res):
    """Measured alongside, not issue 18's goals."""
    v = res.get(ME, "randwrite", "ram_bytes_per_block")
    if v is None:
        return []
    s = res.get(ME, "randwrite", "slabvm_bytes_per_block")
    m = res.get(ME, "randwrite", "meminfo_bytes_per_block")
    w = res.get("dm-writecache", "randwrite", "ram_bytes_per_block")

    def show(x):
        return fmt(x, 1) if x is not None else "n/a"
    return ["Not an issue-18 goal: kernel RAM per cached block (the earlier "
            "<= 32 B target, %s): %s B of Slab+Vmalloc+dm-bufio (Slab+Vmalloc "
            "alone %s B, all of /proc/meminfo %s B; dm-writecache %s B)."
            % ("met" if v <= 32 else "missed", show(v), show(s), show(m), show(w))]


def goal_md(gl, res=None):
    lines = ["| goal | met | measured |", "| --- | --- | --- |"]
    for text, met, detail in gl:
        m = {True: "**met**", False: "**missed**", None: "not measured"}[met]
        lines.append("| %s | %s | %s |" % (text, m, detail))
    if res is not None:
        extra = extra_lines(res)
        if extra:
            lines += [""] + extra
    return lines


def summary_md(res, systems, workloads, key, title, better):
    others = [s for s in systems if s != ME]
    lines = ["%s (%s)" % (title, better), "",
             "| workload | " + " | ".join(others) + " |",
             "| --- |" + " --- |" * len(others)]
    for w in workloads:
        cells = [fmt(res.ratio(w, key, o), 2) if res.ratio(w, key, o) is not None else "-"
                 for o in others]
        if all(c == "-" for c in cells):
            continue
        lines.append("| %s | %s |" % (w, " | ".join(cells)))
    return lines


def table_md(res, systems, w):
    cols = [("IOPS", "iops", 0), ("mean lat us", "lat_mean_us", 0),
            ("p99 us", "p99_us", 0), ("origin w / VM w", "origin_w_per_vm_w", 3),
            ("SSD B / VM B", "ssd_bytes_per_vm_byte", 2),
            ("CPU us / IO", "cpu_us_per_io", 0),
            ("flush s", "flush_s", 2), ("dirty MiB", "dirty_mib", 1)]
    if w in dict(DISTINCT) and any(res.get(s, w, "distinct_blocks") is not None
                                   for s in systems):
        cols.insert(4, ("origin 4K blocks", "origin_blocks", 0))
        cols.insert(5, ("distinct 4K blocks", "distinct_blocks", 0))
    if w == "randwrite":
        cols.insert(8, ("RAM B / block", "ram_bytes_per_block", 1))
        cols.insert(9, ("Slab+Vmalloc", "slabvm_bytes_per_block", 1))
        cols.insert(10, ("meminfo", "meminfo_bytes_per_block", 1))
    lines = ["| system | " + " | ".join(c[0] for c in cols) + " | note |",
             "| --- |" + " ---: |" * len(cols) + " --- |"]
    for s in systems:
        x = res.r.get((s, w))
        if not x:
            continue
        cells = [fmt(num(x[k]), nd) if num(x[k]) is not None else "-" for _, k, nd in cols]
        lines.append("| %s | %s | %s |" % (s, " | ".join(cells), x["note"]))
    return lines


def plot(res, systems, workloads, key, png, ylabel, title):
    dat = png[:-4] + ".dat"
    with open(dat, "w") as f:
        f.write("workload " + " ".join('"%s"' % s for s in systems) + "\n")
        for w in workloads:
            vals = [res.get(s, w, key) for s in systems]
            f.write(w + " " + " ".join("?" if v is None or v <= 0 else "%g" % v
                                        for v in vals) + "\n")
    gp = """set terminal pngcairo size 1100,500 noenhanced font ",10"
set output "%s"
set title "%s"
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set ylabel "%s (log scale)"
set grid ytics
set key outside right top
set datafile missing "?"
set xtics nomirror
plot for [i=2:%d] "%s" using i:xtic(1) title columnheader(i)
""" % (png, title, ylabel, len(systems) + 1, dat)
    try:
        p = subprocess.run(["gnuplot"], input=gp, text=True, capture_output=True)
        if p.returncode != 0:
            # pngcairo may be missing (gnuplot-nox has it; fall back to png).
            p = subprocess.run(["gnuplot"], input=gp.replace("pngcairo", "png"),
                               text=True, capture_output=True)
        if p.returncode != 0:
            print("report: gnuplot failed: %s" % p.stderr.strip(), file=sys.stderr)
            return False
    except FileNotFoundError:
        print("report: gnuplot not found, no plots", file=sys.stderr)
        return False
    finally:
        os.unlink(dat)
    return True


def main():
    args = sys.argv[1:]
    readme = None
    if "--readme" in args:
        i = args.index("--readme")
        readme = args[i + 1]
        del args[i:i + 2]
    if len(args) != 2:
        sys.exit(__doc__)
    log, outdir = args
    rows, params, done = parse(log)
    if not rows:
        sys.exit("report: no VWBENCH-CSV lines in %s" % log)
    kernel = rows[0]["kernel"]
    date = datetime.date.today().isoformat()
    # A .csv of an earlier run keeps that run's date.
    m = re.match(r"(\d{4}-\d\d-\d\d)-", os.path.basename(log))
    if not params and m:
        date = m.group(1)
    base = os.path.join(outdir, "%s-%s" % (date, kernel))
    os.makedirs(outdir, exist_ok=True)
    with open(base + ".csv", "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=FIELDS)
        wr.writeheader()
        wr.writerows(rows)
    res = Results(rows)
    systems = [s for s in SYSTEMS if any(x["system"] == s for x in rows)]
    workloads = [w for w in WORKLOADS if any(x["workload"] == w for x in rows)]
    gl = goals(res, params)
    nofl = [w for w in workloads if w not in FLUSHES]
    has_iops = plot(res, systems, nofl, "iops",
                    base + "-iops.png", "IOPS", "IOPS per workload, %s (higher is better)" % kernel)
    has_p99 = plot(res, systems, nofl, "p99_us",
                   base + "-p99.png", "p99 latency, us",
                   "p99 latency per workload, %s (lower is better)" % kernel)
    quick = params.get("quick") == "1"
    md = ["# make bench: %s, kernel %s%s" % (date, kernel, " (BENCH_QUICK: short runs)" if quick else ""),
          "",
          "Ratios only matter within one run: every number below was taken in one",
          "QEMU/TCG boot on the same two virtual disks, so absolute figures say little",
          "about real hardware, but how the systems compare on the same devices does.",
          "Do not compare numbers across result files.",
          "",
          ("Run: origin = virtio disk behind dm-delay (%s ms per I/O), SSD stand-in = "
           "virtio disk (%s MiB), fio runs of %s s, %s guest CPUs%s."
           % (params.get("delay_ms", "?"), params.get("ssd_mib", "?"),
              params.get("runtime_s", "?"), params.get("cpus", "?"),
              "" if done else "; **the run did not finish: results are partial**"))
          if params else "Run: parameters not recorded (made from %s)." % os.path.basename(log),
          "Module: %s." % os.environ.get("BENCH_REV", "unknown"),
          ("dm-vwcache-old: the module built from %s (BENCH_OLD), same settings, "
           "loaded in place of ours for its runs." % os.environ.get("BENCH_OLD_REV", "?"))
          if "dm-vwcache-old" in systems else "",
          "",
          "## Goals (issue 18), computed from the numbers below", ""]
    md += goal_md(gl, res)
    md += ["", "How the goals are judged:", "",
           "- Ratios are dm-vwcache's IOPS over the other system's on the same",
           "  workload; \"8 VMs\" is dm-vwcache's 8vm row over its own qd32 row; a",
           "  goal whose rows are missing from this run (a system or workload",
           "  skipped or failed) is \"not measured\", never met.",
           "- Flush: dm-vwcache's flush time over dm-writecache's, each after the",
           "  same fio fill (dirty MiB at the start shown); flush at the run's",
           "  origin delay, flush2 at the flush2 delay.",
           "- Origin writes: 4 KiB blocks written to the origin's disk (its",
           "  sectors written / 8, so merged writes are not flattered) against",
           "  the distinct 4 KiB blocks fio wrote. fio's random writes use its",
           "  random map (every block of a region once before any twice), so for",
           "  randwrite and flush the distinct count is exact: min(blocks",
           "  written, blocks in the region). zipf repeats offsets: bench.sh",
           "  counts its distinct blocks by replaying fio's generator (same seed",
           "  and options, null engine, the run's number of writes) after the",
           "  measured window; runs from before that recorded min(blocks",
           "  written, blocks in the region), only an upper bound, so a zipf",
           "  pass there proves nothing (the row says which). zipf, flush and",
           "  flush2 count until the end of a full flush; randwrite counts",
           "  fio's run only (writeback started during it). Other workloads are",
           "  left out: their windows drop dirty data, and seqwrite rewrites",
           "  its region, where writing a block back twice is legitimate.",
           "- CPU per I/O: every workload that ran on both dm-vwcache and",
           "  dm-writecache, compared as measured (one run, no margin).",
           ""]
    md += ["", "## dm-vwcache against each other system", ""]
    md += summary_md(res, systems, nofl, "iops", "IOPS ratio, dm-vwcache / other",
                     "above 1: dm-vwcache faster")
    md += [""]
    md += summary_md(res, systems, nofl, "p99_us", "p99 latency ratio, dm-vwcache / other",
                     "below 1: dm-vwcache better")
    md += [""]
    md += summary_md(res, systems, FLUSHES, "flush_s", "Flush time ratio, dm-vwcache / other",
                     "below 1: dm-vwcache faster; see the dirty MiB each had to write back")
    md += ["", "## Plots", ""]
    if has_iops:
        md.append("![IOPS](%s)" % os.path.basename(base + "-iops.png"))
    if has_p99:
        md.append("![p99](%s)" % os.path.basename(base + "-p99.png"))
    md += ["", "## All numbers", ""]
    for w in workloads:
        desc = WDESC.get(w, w).replace("FLUSH2", params.get("flush2_delay_ms", "2"))
        md += ["### %s: %s" % (w, desc), ""]
        md += table_md(res, systems, w)
        md.append("")
    md += ["## Method", "",
           "- Before the first run both disks are written through once: the host keeps",
           "  them as sparse files, and a first write to a hole costs more than a rewrite.",
           "- Order: workload by workload, each system in turn (forward on the first,",
           "  third ... workload, backward on the others), so that a host slowing",
           "  down during the run moves all systems of a workload alike.",
           "- Each (system, workload) pair runs on freshly built devices: heads of the",
           "  SSD (and for bcache the origin) zeroed, a new pool / cache formatted,",
           "  and torn down afterwards. Defaults of each system are kept: dm-vwcache",
           "  (4 KiB blocks, watermarks 50/25 %%, max_age 60 s), dm-writecache `s` mode",
           "  with 4 KiB blocks, dm-cache writeback smq with 32 KiB blocks (its",
           "  smallest) and 16 MiB of metadata on the SSD, bcache writeback (4 KiB",
           "  blocks, 512 KiB buckets, sequential_cutoff 4 MiB, writeback_percent 10).",
           "- IOPS, mean and p99 latency: fio (libaio, direct), total latency",
           "  (submission + completion); for mixed workloads IOPS is reads + writes,",
           "  the mean is weighted by IOPS and p99 is the larger of the two directions.",
           "- Origin writes per VM write: write I/Os completed by the origin disk",
           "  (/sys/block/vdb/stat) over the write I/Os fio completed (KiB written /",
           "  block size; a dm device's own stat may count the pieces of split bios).",
           "  For zipf and flush the window runs from the start of fio to",
           "  the end of a flush that follows it (caches), so the eventual writeback",
           "  is counted and coalescing shows; for the other workloads it is fio's run",
           "  alone (writeback started by watermarks or age during the run), and",
           "  dirty data left at the end is dropped with the devices.",
           "- SSD bytes per VM byte: sectors written to the SSD disk over bytes fio",
           "  wrote, same window.",
           "- Kernel RAM per cached block: kernel memory after the randwrite run with",
           "  the system still loaded, minus the same right after its teardown",
           "  (seconds apart, both after sync and drop_caches), over the SSD capacity",
           "  given to the cache in 4 KiB blocks (dm-vwcache, dm-writecache and",
           "  dm-cache preallocate per block). \"RAM\" counts Slab + VmallocUsed +",
           "  dm-bufio's current_allocated_bytes (metadata pages: dm-vwcache and",
           "  dm-cache use dm-bufio), \"Slab+Vmalloc\" leaves dm-bufio out, and",
           "  \"meminfo\" is MemTotal - MemFree - Buffers - Cached - AnonPages (every",
           "  page allocation too, e.g. bcache's btree cache, but noisier).",
           "- CPU per I/O: busy jiffies of the guest's /proc/stat (user, nice,",
           "  system, irq, softirq, steal) during the fio run over fio's I/Os,",
           "  fio's own CPU included (the same for every system).",
           "- Flush: dm-vwcache `flush` message until dirty 0 (polled every 50 ms in",
           "  sysfs by the shell, no process forked); dm-writecache `flush`",
           "  message (synchronous); dm-cache reloaded with the cleaner policy until",
           "  dirty 0; bcache writeback_delay 0 and writeback_percent 0 until state",
           "  clean. \"dirty MiB\" is what each held at the start of the flush",
           "  (dm-writecache: blocks in use, an upper bound; dm-cache: 32 KiB blocks).",
           "  flush2 is the same with the origin's dm-delay set to %s ms for the run"
           % params.get("flush2_delay_ms", "2"),
           "  (reloaded before the system is built, put back after its teardown).",
           "- 8vm: one dm-vwcache pool with 8 VM devices on 8 dm-linear slices of",
           "  the origin; bcache likewise one cache set on the whole SSD with the 8",
           "  origin slices attached to it as backing devices (how bcache shares a",
           "  cache); dm-writecache and dm-cache, which take one origin per cache,",
           "  get 8 separate caches, each on 1/8 of the SSD and one origin slice (and",
           "  the raw systems 8 slices).",
           "- Origin blocks (origin_blocks): sectors written to the origin disk / 8,",
           "  same window as origin writes. Distinct blocks (distinct_blocks): the",
           "  most distinct 4 KiB blocks fio's writes can have covered, min(4 KiB",
           "  blocks written, 4 KiB blocks in the jobs' regions); exact for uniform",
           "  random writes and flush, an upper bound for mixed; for zipf the",
           "  count of distinct offsets among its first N writes (N = the run's",
           "  writes), from fio's null engine replaying the same generator. Both",
           "  are empty in results from before they were recorded.",
           ""]
    with open(base + ".md", "w") as f:
        f.write("\n".join(md))
    if readme and not quick:
        update_readme(readme, base, date, kernel, res, systems, workloads, gl)
    print(base + ".md")


def update_readme(readme, base, date, kernel, res, systems, workloads, gl):
    rel = os.path.relpath(base, os.path.dirname(os.path.abspath(readme)))
    sec = [BEGIN, "",
           "Latest `make bench` (%s, kernel %s; full results in %s.md). Ratios"
           % (date, kernel, rel),
           "are dm-vwcache / other, taken in one QEMU/TCG run on the same disks:",
           "only ratios within one run mean anything.", ""]
    nofl = [w for w in workloads if w not in FLUSHES]
    sec += ["Goals (issue 18; how they are judged: see the full results)", ""]
    sec += goal_md(gl, res)
    sec += [""]
    sec += summary_md(res, systems, nofl, "iops", "IOPS ratio", "above 1: dm-vwcache faster")
    sec += [""]
    sec += summary_md(res, systems, FLUSHES, "flush_s", "Flush time ratio",
                      "below 1: dm-vwcache faster")
    sec += ["", END]
    with open(readme) as f:
        text = f.read()
    if BEGIN in text and END in text:
        pre = text[:text.index(BEGIN)]
        post = text[text.index(END) + len(END):]
        text = pre + "\n".join(sec) + post
    else:
        text = text.rstrip("\n") + "\n\nBenchmark\n---------\n\n" + "\n".join(sec) + "\n"
    with open(readme, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
