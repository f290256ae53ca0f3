"""Run every benchmark: pyjack, JACK-Client and a plain C client side by side.

Prints each benchmark's figures, then writes results.md (a Markdown table
with the machine it ran on) and results.png (one chart) into --out.

    python benchmarks/run_all.py            # the full run, a few minutes
    python benchmarks/run_all.py --quick    # a few seconds per benchmark
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import bench_calls
import bench_cpu
import bench_freewheel
import bench_gil
import bench_latency
import bench_midi
import bench_render
import common
from common import CLIENTS, HERE, Row, build_c_client, fmt, have_jack_client, print_rows

BENCHMARKS = {
    "gil": bench_gil,
    "freewheel": bench_freewheel,
    "cpu": bench_cpu,
    "calls": bench_calls,
    "latency": bench_latency,
    "midi": bench_midi,
    "render": bench_render,
}


def machine() -> dict:
    """What the figures were measured on."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    system = f"{platform.system()} {platform.release()}"
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                system = f"{line.split('=', 1)[1].strip(chr(34))}, {system}"
    except OSError:
        pass
    try:
        jackd = subprocess.run(["jackd", "--version"], capture_output=True, text=True, timeout=10)
        jack = jackd.stdout.splitlines()[0].split(" tmpdir")[0] if jackd.stdout else "unknown"
    except (OSError, subprocess.TimeoutExpired):
        jack = "unknown"
    versions = []
    for module, label in (("pyjack", "pyjack"), ("jack", "JACK-Client"), ("numpy", "numpy")):
        try:
            versions.append(f"{label} {__import__(module).__version__}")
        except Exception:
            versions.append(f"{label} not installed")
    return {
        "cpu": f"{os.cpu_count()} cores, {model}",
        "os": system,
        "jack": f"{jack} (dummy backend, {'real-time priority' if common.REALTIME else '--no-realtime'})",
        "python": f"Python {platform.python_version()}, " + ", ".join(versions),
        "date": datetime.date.today().isoformat(),
    }


def markdown(rows: list[Row], about: dict, quick: bool) -> str:
    lines = [
        f"Measured {about['date']}{' (quick run)' if quick else ''} on {about['cpu']}; "
        f"{about['os']}; {about['jack']}; {about['python']}.",
        "",
        "| Benchmark | Setting | Figure | pyjack | JACK-Client | C | pyjack / C | JACK-Client / C | Target |",
        "|---|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        target = row.target
        if row.met is not None:
            target += " ✓ met" if row.met else " ✗ **not met**"
        cells = [fmt(row.values.get(c), row.digits) for c in CLIENTS]
        ratios = [fmt(row.ratio(c), 3) for c in ("pyjack", "JACK-Client")]
        lines.append(f"| {row.question} | {row.setting} | {row.figure} | " + " | ".join(cells)
                     + " | " + " | ".join(ratios) + f" | {target} |")
    notes = [f"- {row.question}, {row.setting}: {note}" for row in rows for note in row.notes]
    if notes:
        lines += ["", "Notes:", ""] + notes
    return "\n".join(lines) + "\n"


def chart(rows: list[Row], path: Path, about: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def pick(question, figure):
        return [r for r in rows if r.question == question and r.figure == figure]

    colours = {"pyjack": "#2a7ab9", "JACK-Client": "#e08a2c", "C": "#7a7a7a"}
    # (question, figure, title, relative to C, log scale, target line)
    panels = [
        ("GIL contention", "cycles served (%)", "GIL contention: cycles served (%)", False, False, None),
        ("Freewheel throughput", "frames per second", "Freewheel: frames per second, x C",
         True, False, 0.9),
        ("Real-time CPU cost", "CPU s per s of audio", "Real-time: CPU s per s of audio",
         False, False, None),
        ("Per-call cost", "time per call (us)", "Per-call time (us, log scale)", False, True, None),
        ("Offline rendering", "real-time factor", "render(): real-time factor, x C", True, False, 0.9),
    ]
    panels = [p for p in panels if pick(p[0], p[1])]
    columns = 2 if len(panels) > 1 else 1
    lines = (len(panels) + columns - 1) // columns
    figure, axes = plt.subplots(lines, columns, figsize=(5.2 * columns, 3.6 * lines), squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax, (question, name, title, relative, log, target) in zip(axes.flat, panels):
        chosen = pick(question, name)
        width = 0.8 / len(CLIENTS)
        for k, client in enumerate(CLIENTS):
            heights = [(r.ratio(client) if relative else r.values.get(client)) or 0 for r in chosen]
            ax.bar([i + (k - 1) * width for i in range(len(chosen))], heights, width,
                   label=client, color=colours[client])
        if target is not None:
            ax.axhline(target, color="black", linewidth=0.8, linestyle="--")
        ax.set_xticks(range(len(chosen)))
        ax.set_xticklabels([r.setting.split(",")[0] for r in chosen])
        ax.set_title(title, fontsize=10)
        if log:
            ax.set_yscale("log")
        ax.grid(axis="y", alpha=0.3)
    axes.flat[0].legend(fontsize=8, loc="center")
    figure.suptitle(f"pyjack, JACK-Client and a C client; {about['date']}; {about['cpu']}", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds per benchmark (for CI)")
    parser.add_argument("--out", type=Path, default=HERE,
                        help="where results.md and results.png go (default: benchmarks/)")
    parser.add_argument("--only", choices=sorted(BENCHMARKS), action="append",
                        help="run just this benchmark (may be repeated)")
    parser.add_argument("--realtime", action="store_true",
                        help="run the private jackd with real-time priority (jackd -R)")
    args = parser.parse_args()
    common.REALTIME = args.realtime
    cclient = build_c_client()
    jack_client = have_jack_client()
    if not jack_client:
        print("JACK-Client is not installed (pip install JACK-Client, or the bench extra): "
              "its column stays empty", file=sys.stderr)
    about = machine()  # after REALTIME is set: it names the server's mode
    print(f"{about['date']}: {about['cpu']}; {about['os']}; {about['jack']}; {about['python']}")
    rows: list[Row] = []
    started = time.monotonic()
    for name, module in BENCHMARKS.items():
        if args.only and name not in args.only:
            continue
        found = module.run(cclient, args.quick, jack_client)
        print_rows(module.TITLE, found)
        rows += found
    args.out.mkdir(parents=True, exist_ok=True)
    table = markdown(rows, about, args.quick)
    (args.out / "results.md").write_text(table)
    chart(rows, args.out / "results.png", about)
    print(f"\n{table}")
    print(f"wrote {args.out / 'results.md'} and {args.out / 'results.png'} "
          f"in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
