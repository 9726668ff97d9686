#!/usr/bin/python3
"""PNG plots of a shmq-bench JSON report (docs/bench.md, "Plots").

    bench/plot.py REPORT.json [--out DIR]

writes, next to the report (or into DIR), one PNG per figure the report has:

    REPORT-latency.png     round trip p50 / p99 / p99.9 per peer, spinning and sleeping (log)
    REPORT-throughput.png  one-way msgs/s and GB/s against message size, per peer (log-log)
    REPORT-mpmc.png        MPMC msgs/s per peer, per producers x consumers (log)
    REPORT-manager.png     Manager dict calls/s per peer and operation (log)

Every PNG says in its footnote which machine (CPU model, CPUs, kernel), when (UTC) and which
commit measured it, from the report's "meta" (older reports without it: from "host", commit
unknown). Rows that failed are left out and counted in the footnote. Needs Debian's
python3-matplotlib (scripts/setup.sh), hence /usr/bin/python3.
"""

import argparse
import json
import sys
from pathlib import Path

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter
except ImportError:
    sys.exit("plot.py: needs matplotlib: apt-get install python3-matplotlib "
             "(run with /usr/bin/python3)")

PERCENTILES = [("p50", "p50"), ("p99", "p99"), ("p999", "p99.9")]
WAITS = [("spin", "spinning (busy-poll)"), ("sleep", "sleeping (blocked between messages)")]


def size_label(n):
    return f"{n // 1024} KiB" if n >= 1024 and n % 1024 == 0 else f"{n} B"


def rate_label(v):
    for scale, unit in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if v >= scale:
            return f"{v / scale:.3g}{unit}"
    return f"{v:.3g}"


def row_label(r, variants_of_peer):
    """'peer', or 'peer variant' where the peer has several rows in the same plot."""
    return f"{r['peer']} {r['variant']}" if variants_of_peer[r["peer"]] > 1 else r["peer"]


def peer_colors(report):
    """One colour per peer, the same in every plot, in the report's peer order."""
    names = [p["name"] for p in report.get("peers", [])]
    for r in report.get("results", []):
        if r.get("peer") not in names:
            names.append(r.get("peer"))
    cmap = plt.get_cmap("tab10" if len(names) <= 10 else "tab20")
    return {n: cmap(i % cmap.N) for i, n in enumerate(names)}


def count_variants(rows):
    seen = {}
    for r in rows:
        seen.setdefault(r["peer"], set()).add(r["variant"])
    return {p: len(v) for p, v in seen.items()}


def footnote(report, source):
    meta = report.get("meta") or {}
    host = report.get("host") or {}
    config = report.get("config") or {}
    cpu = meta.get("cpu_model") or host.get("cpu_model") or "unknown CPU"
    nproc = meta.get("nproc", host.get("cpus", "?"))
    allowed = meta.get("cpus_allowed", host.get("cpus"))
    cpus = f"{nproc} CPUs" + (f" ({allowed} usable)" if allowed not in (None, nproc) else "")
    kernel = meta.get("kernel") or host.get("kernel") or ""
    date = meta.get("date_utc", "date unknown")
    commit = (meta.get("git_commit") or "unknown")[:12]
    failed = sum(1 for r in report.get("results", []) if r.get("status") not in ("ok", "skipped"))
    skipped = sum(1 for r in report.get("results", []) if r.get("status") == "skipped")
    run = "--quick" if config.get("quick") else f"{config.get('seconds', '?')} s per row"
    line1 = f"{cpu}, {cpus}, {kernel}"
    line2 = f"{date} · commit {commit} · shmq-bench {run} · {Path(source).name}"
    if failed:
        line2 += f" · {failed} row(s) failed, not shown"
    if skipped:
        line2 += f" · {skipped} row(s) skipped (see the table), not shown"
    return line1 + "\n" + line2


def finish(fig, report, source, path):
    fig.text(0.01, 0.01, footnote(report, source), fontsize=7, color="#444444",
             ha="left", va="bottom")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"plot.py: wrote {path}")
    return path


def log_bar_axes(ax, labels, ylabel):
    """A log-scale bar chart's axes: one tick per label, horizontal grid lines."""
    ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=30, ha="right", fontsize=8)
    ax.grid(axis="y", which="both", alpha=0.3)


def ok_rows(report, figure):
    return [r for r in report.get("results", [])
            if r.get("figure") == figure and r.get("status") == "ok"]


def plot_latency(report, source, out):
    rows = ok_rows(report, "roundtrip")
    if not rows:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.4))
    for ax, (wait, title) in zip(axes, WAITS):
        these = [r for r in rows if r["wait"] == wait]
        ax.set_title(f"Round trip, 8 B each way — {title}", fontsize=10)
        if not these:
            ax.text(0.5, 0.5, "no rows", ha="center", va="center", transform=ax.transAxes)
            ax.set_xticks([])
            continue
        variants = count_variants(these)
        labels = [row_label(r, variants) for r in these]
        width = 0.8 / len(PERCENTILES)
        for i, (key, name) in enumerate(PERCENTILES):
            xs = [j + (i - (len(PERCENTILES) - 1) / 2) * width for j in range(len(these))]
            ys = [r["latency_us"][key] for r in these]
            ax.bar(xs, ys, width, label=name)
            if key == "p50":
                for x, y in zip(xs, ys):
                    ax.annotate(f"{y:.3g}", (x, y), ha="center", va="bottom", fontsize=6,
                                rotation=90, xytext=(0, 2), textcoords="offset points")
        log_bar_axes(ax, labels, "µs (log)")
        ax.legend(fontsize=8)
    fig.suptitle("shmq-bench: round-trip latency percentiles per peer (lower is better)")
    fig.tight_layout(rect=(0, 0.07, 1, 0.96))
    return finish(fig, report, source, out / f"{Path(source).stem}-latency.png")


def plot_throughput(report, source, out):
    rows = ok_rows(report, "throughput")
    if not rows:
        return None
    variants = count_variants(rows)
    lines = {}
    for r in rows:
        lines.setdefault(row_label(r, variants), []).append(r)
    sizes = sorted({r["message_bytes"] for r in rows})
    colors = peer_colors(report)
    variant_index = {}
    for r in rows:
        key = (r["peer"], r["variant"])
        if key not in variant_index:
            variant_index[key] = sum(1 for p, _ in variant_index if p == r["peer"])
    fig, axes = plt.subplots(1, 2, figsize=(14, 5.8))
    for ax, (key, scale, ylabel) in zip(
            axes, [("msgs_per_s", 1.0, "messages / s"), ("mb_per_s", 1e-3, "GB / s (10^9 B)")]):
        for label, rs in lines.items():
            rs = sorted(rs, key=lambda r: r["message_bytes"])
            peer = rs[0]["peer"]
            styles = ["-", "--", ":", "-."]
            style = styles[variant_index[(peer, rs[0]["variant"])] % len(styles)]
            ax.plot([r["message_bytes"] for r in rs], [r["throughput"][key] * scale for r in rs],
                    style, color=colors[peer], linewidth=2.2 if peer == "shmq" else 1.4,
                    marker="o", markersize=4, label=label)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(sizes)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: size_label(int(v))))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
        ax.set_xlabel("message size (log)")
        ax.set_ylabel(ylabel + " (log)")
        ax.grid(which="both", alpha=0.3)
    axes[0].set_title("One-way, 1 producer → 1 consumer, spinning: messages/s", fontsize=10)
    axes[1].set_title("The same rows: bytes/s", fontsize=10)
    axes[1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.suptitle("shmq-bench: throughput against message size per peer (higher is better)")
    fig.tight_layout(rect=(0, 0.07, 1, 0.96))
    return finish(fig, report, source, out / f"{Path(source).stem}-throughput.png")


def plot_mpmc(report, source, out):
    rows = ok_rows(report, "mpmc")
    if not rows:
        return None
    configs = sorted({(r["producers"], r["consumers"], r["message_bytes"]) for r in rows})
    variants = count_variants(rows)
    labels = []
    for r in rows:
        if row_label(r, variants) not in labels:
            labels.append(row_label(r, variants))
    fig, ax = plt.subplots(figsize=(max(7, 1.1 * len(labels) + 3), 5.4))
    width = min(0.8 / len(configs), 0.4)
    for i, (p, c, size) in enumerate(configs):
        xs, ys = [], []
        for j, label in enumerate(labels):
            for r in rows:
                if (row_label(r, variants) == label and
                        (r["producers"], r["consumers"], r["message_bytes"]) == (p, c, size)):
                    xs.append(j + (i - (len(configs) - 1) / 2) * width)
                    ys.append(r["throughput"]["msgs_per_s"])
        ax.bar(xs, ys, width, label=f"{p} producers × {c} consumers, {size_label(size)}")
        for x, y in zip(xs, ys):
            ax.annotate(rate_label(y), (x, y), ha="center", va="bottom", fontsize=7,
                        xytext=(0, 2), textcoords="offset points")
    log_bar_axes(ax, labels, "messages / s, all consumers (log)")
    ax.set_xlim(-0.7, len(labels) - 0.3)
    ax.legend(fontsize=8)
    cpus = sorted({len(set(r.get("cpus", []))) for r in rows})
    ax.set_title("MPMC on one queue, each peer's default blocking calls "
                 f"(processes on {'/'.join(map(str, cpus))} CPU(s))", fontsize=10)
    fig.suptitle("shmq-bench: MPMC throughput per peer (higher is better)")
    fig.tight_layout(rect=(0, 0.09, 1, 0.95))
    return finish(fig, report, source, out / f"{Path(source).stem}-mpmc.png")


def plot_manager(report, source, out):
    rows = ok_rows(report, "manager")
    if not rows:
        return None
    variants = count_variants(rows)
    labels = [row_label(r, variants) for r in rows]
    colors = peer_colors(report)
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(labels) + 3), 5))
    ys = [r["throughput"]["msgs_per_s"] for r in rows]
    ax.bar(range(len(rows)), ys, 0.6, color=[colors.get(r["peer"]) for r in rows])
    for x, y in enumerate(ys):
        ax.annotate(rate_label(y), (x, y), ha="center", va="bottom", fontsize=7,
                    xytext=(0, 2), textcoords="offset points")
    log_bar_axes(ax, labels, "calls / s (log)")
    ax.set_title("Manager dict: one client, one server process", fontsize=10)
    fig.suptitle("shmq-bench: Manager().dict() calls per second (higher is better)")
    fig.tight_layout(rect=(0, 0.09, 1, 0.95))
    return finish(fig, report, source, out / f"{Path(source).stem}-manager.png")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("report", help="a shmq-bench --json file")
    parser.add_argument("--out", help="directory for the PNGs (default: the report's)")
    args = parser.parse_args()
    source = Path(args.report)
    try:
        report = json.loads(source.read_text())
    except (OSError, ValueError) as e:
        sys.exit(f"plot.py: cannot read {source}: {e}")
    if not str(report.get("schema", "")).startswith("shmq-bench/"):
        sys.exit(f"plot.py: {source} is not a shmq-bench report")
    out = Path(args.out) if args.out else source.parent
    out.mkdir(parents=True, exist_ok=True)
    written = [plot(report, source, out) for plot in (plot_latency, plot_throughput, plot_mpmc,
                                                     plot_manager)]
    if not any(written):
        sys.exit(f"plot.py: {source} has no successful rows to plot")


if __name__ == "__main__":
    main()
