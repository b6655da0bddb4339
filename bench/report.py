#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""report.py LOG OUTDIR [--readme README]

Turns the "VWBENCH-CSV:" lines of one bench console log (tests/vm/bench.sh)
into OUTDIR/<date>-<kernel>.csv and .md, and OUTDIR/<date>-<kernel>-iops.png
and -p99.png (gnuplot).  With --readme, replaces the README section between
the "bench-results" markers with the summary and goals.  Prints the .md path.
"""
import csv
import datetime
import os
import re
import subprocess
import sys

FIELDS = ["kernel", "system", "workload", "iops", "lat_mean_us", "p99_us",
          "vm_writes", "origin_writes", "origin_w_per_vm_w",
          "ssd_bytes_per_vm_byte", "ram_bytes_per_block",
          "slabvm_bytes_per_block", "cpu_us_per_io", "flush_s", "dirty_mib",
          "meminfo_bytes_per_block", "note"]
SYSTEMS = ["raw-ssd", "raw-origin", "dm-vwcache", "dm-writecache",
           "dm-cache", "bcache"]
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
    "qd32": "1 VM device, 4 KiB random write, QD32 (8 x the 8vm depth)",
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


def parse(log):
    rows, params, done = [], {}, False
    with open(log, errors="replace") as f:
        for line in f:
            m = re.search(r"VWBENCH-CSV: (.*)$", line.rstrip("\r\n"))
            if m:
                vals = m.group(1).split(",", len(FIELDS) - 1)
                vals += [""] * (len(FIELDS) - len(vals))
                rows.append(dict(zip(FIELDS, vals)))
                continue
            m = re.search(r"VWBENCH-PARAMS: (.*)$", line)
            if m:
                params = dict(kv.split("=", 1) for kv in m.group(1).split()
                              if "=" in kv)
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


def goals(res, params=None):
    """[(text, met: True/False/None, detail)]"""
    params = params or {}
    out = []

    def ge(a, b, k):
        return None if a is None or b is None else a >= k * b

    def show(v, nd=2):
        return fmt(v, nd) if v is not None else "n/a"

    vw = res.get(ME, "randwrite", "iops")
    wc = res.get("dm-writecache", "randwrite", "iops")
    ssd = res.get("raw-ssd", "randwrite", "iops")
    out.append(("4 KiB random write IOPS >= 1.0 x dm-writecache",
                ge(vw, wc, 1.0), "ratio %s" % show(res.ratio("randwrite", "iops", "dm-writecache"))))
    out.append(("4 KiB random write IOPS >= 0.9 x raw SSD",
                ge(vw, ssd, 0.9), "ratio %s" % show(res.ratio("randwrite", "iops", "raw-ssd"))))
    vw = res.get(ME, "hotread", "iops")
    ssd = res.get("raw-ssd", "hotread", "iops")
    out.append(("read hits (warmed hot set) IOPS >= 0.9 x raw SSD",
                ge(vw, ssd, 0.9), "ratio %s" % show(res.ratio("hotread", "iops", "raw-ssd"))))
    vo = res.get(ME, "zipf", "origin_w_per_vm_w")
    wo = res.get("dm-writecache", "zipf", "origin_w_per_vm_w")
    met = None if vo is None or wo is None else (vo <= 0.1 and vo < wo)
    out.append(("zipf rewrite: origin writes <= 0.1 x VM writes, and fewer than dm-writecache's",
                met, "dm-vwcache %s, dm-writecache %s origin writes per VM write (flush included)"
                % (show(vo, 4), show(wo, 4))))
    v = res.get(ME, "fsync", "ssd_bytes_per_vm_byte")
    out.append(("fsync every 32 writes: SSD bytes written <= 1.1 x VM bytes written",
                None if v is None else v <= 1.1, "%s" % show(v, 3)))
    a, b = res.get(ME, "8vm", "iops"), res.get(ME, "qd32", "iops")
    out.append(("8 VMs on one pool: aggregate IOPS >= 0.9 x one VM at 8 x the depth",
                ge(a, b, 0.9), "8 x QD4 %s IOPS, 1 x QD32 %s IOPS, ratio %s"
                % (show(a, 0), show(b, 0), show(a / b if a is not None and b else None))))
    for w, ms in (("flush", params.get("delay_ms", "?")),
                  ("flush2", params.get("flush2_delay_ms", "2"))):
        a, b = res.get(ME, w, "flush_s"), res.get("dm-writecache", w, "flush_s")
        if w == "flush2" and a is None and b is None:
            continue
        da, db = res.get(ME, w, "dirty_mib"), res.get("dm-writecache", w, "dirty_mib")
        out.append(("flush of the same dirty data <= 0.8 x dm-writecache's time "
                    "(origin delay %s ms)" % ms,
                    None if a is None or b is None else a <= 0.8 * b,
                    "%s s vs %s s, ratio %s (dirty at flush start: %s vs %s MiB)"
                    % (show(a), show(b), show(a / b if a is not None and b else None),
                       show(da, 1), show(db, 1))))
    v = res.get(ME, "randwrite", "ram_bytes_per_block")
    s = res.get(ME, "randwrite", "slabvm_bytes_per_block")
    m = res.get(ME, "randwrite", "meminfo_bytes_per_block")
    w = res.get("dm-writecache", "randwrite", "ram_bytes_per_block")
    out.append(("<= 32 bytes of kernel RAM per cached block",
                None if v is None else v <= 32,
                "%s B of Slab+Vmalloc+dm-bufio (Slab+Vmalloc alone %s B, all of "
                "/proc/meminfo %s B; dm-writecache %s B)" % (show(v, 1), show(s, 1), show(m, 1), show(w, 1))))
    return out


def goal_md(gl):
    lines = ["| goal | met | measured |", "| --- | --- | --- |"]
    for text, met, detail in gl:
        m = {True: "**met**", False: "**missed**", None: "n/a"}[met]
        lines.append("| %s | %s | %s |" % (text, m, detail))
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
    if w == "randwrite":
        cols.insert(6, ("RAM B / block", "ram_bytes_per_block", 1))
        cols.insert(7, ("Slab+Vmalloc", "slabvm_bytes_per_block", 1))
        cols.insert(8, ("meminfo", "meminfo_bytes_per_block", 1))
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
          "Run: origin = virtio disk behind dm-delay (%s ms per I/O), SSD stand-in = "
          "virtio disk (%s MiB), fio runs of %s s, %s guest CPUs%s."
          % (params.get("delay_ms", "?"), params.get("ssd_mib", "?"),
             params.get("runtime_s", "?"), params.get("cpus", "?"),
             "" if done else "; **the run did not finish: results are partial**"),
          "Module: %s." % os.environ.get("BENCH_REV", "unknown"),
          "",
          "## Goals (issue 7), computed from the numbers below", ""]
    md += goal_md(gl)
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
           "  the origin; the other systems get 8 separate caches, each on 1/8 of the",
           "  SSD (and the raw systems 8 slices).",
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
    sec += summary_md(res, systems, nofl, "iops", "IOPS ratio", "above 1: dm-vwcache faster")
    sec += [""]
    sec += summary_md(res, systems, FLUSHES, "flush_s", "Flush time ratio",
                      "below 1: dm-vwcache faster")
    sec += [""]
    sec += goal_md(gl)
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
