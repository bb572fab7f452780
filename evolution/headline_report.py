"""The headline comparison's table (CSV and Markdown) and figure (NFR against the cloud member's accuracy)."""
from __future__ import annotations

import csv
import io
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from regnas.io import atomic_write_text

COLUMNS = ["row", "seed", "origin", "device_arch", "cloud_arch", "device_accuracy", "cloud_accuracy",
           "device_latency_ms", "cloud_latency_ms", "nf", "nfr", "nfr_low", "nfr_high", "rel_nfr", "nfi"]


def table_rows(summary: dict[str, Any]) -> list[list[Any]]:
    out = []
    for r in summary["rows"]:
        device, cloud = r["members"]
        out.append([r["row"], r["seed"], r["origin"], device["arch"], cloud["arch"], device["accuracy"], cloud["accuracy"],
                    device["latency_ms"], cloud["latency_ms"], r["nf"], r["nfr"], *r["nfr_ci95"], r["rel_nfr"], r["nfi"]])
    return out


def to_csv(summary: dict[str, Any]) -> str:
    handle = io.StringIO()
    writer = csv.writer(handle)
    writer.writerow(COLUMNS)
    for row in table_rows(summary):
        writer.writerow([f"{v:.6g}" if isinstance(v, float) else v for v in row])
    return handle.getvalue()


def _pct(value: float) -> str:
    return "n/a" if not np.isfinite(value) else f"{100 * value:.1f}%"


def to_markdown(summary: dict[str, Any]) -> str:
    settings = summary["settings"]
    device, cloud = settings["platforms"]
    lines = [f"Device: {device} <= {settings['budgets'][device]}, cloud: {cloud} <= {settings['budgets'][cloud]}; "
             f"{settings['name']} settings, seeds {settings['seeds']}; test split of {settings['test_size']} images.", "",
             f"| row | seed | {device} acc | {cloud} acc | {device} ms | {cloud} ms | NF | NFR [95% CI] | rel_NFR | NFI |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    if not summary.get("complete", True):
        lines[:0] = ["**Partial: the rows done so far.** The same command continues the run.", ""]
    for r in summary["rows"]:
        d, c = r["members"]
        lines.append(f"| {r['row']} | {r['seed']} | {_pct(d['accuracy'])} | {_pct(c['accuracy'])} | "
                     f"{d['latency_ms']:.3g} | {c['latency_ms']:.3g} | {r['nf']:.0f} | "
                     f"{100 * r['nfr']:.2f}% [{100 * r['nfr_ci95'][0]:.2f}, {100 * r['nfr_ci95'][1]:.2f}] | "
                     f"{r['rel_nfr']:.3f} | {r['nfi']:.3f} |")
    lines += ["", "Relative NFR reduction of REG-NAS, as searched and fine-tuned (1 - NFR_ours / NFR_row; paired "
                  "bootstrap 95% interval over test images), and our accuracy minus the row's, per member:", "",
              "| ours | against | seed | NFR reduction [95% CI] | accuracy gap device | accuracy gap cloud |",
              "|---|---|---|---|---|---|"]
    for r in summary["reductions"]:
        lines.append(f"| {r.get('ours', 'reg-nas')} | {r['against']} | {r['seed']} | {_pct(r['reduction'])} "
                     f"[{_pct(r['ci95'][0])}, {_pct(r['ci95'][1])}] "
                     f"| {100 * r['accuracy_gap'][0]:+.1f} pt | {100 * r['accuracy_gap'][1]:+.1f} pt |")
    if len(settings["seeds"]) > 1:
        pooled = {(r["ours"], r["against"]): r for r in summary.get("pooled", [])}
        lines += ["", "Over seeds: the mean of the seeds' reductions (min to max), and the reduction of all seeds "
                      "pooled (1 - sum NF_ours / sum NF_row) with a two-stage bootstrap 95% interval (seeds, then "
                      "test images, resampled):", "",
                  "| ours | against | NFR reduction, mean (min to max) | pooled [95% CI] | seeds |", "|---|---|---|---|---|"]
        by = defaultdict(list)
        for r in summary["reductions"]:
            by[r.get("ours", "reg-nas"), r["against"]].append(r["reduction"])
        for (ours, against), values in by.items():
            pool = pooled.get((ours, against))
            pool_text = (f"{_pct(pool['reduction'])} [{_pct(pool['ci95'][0])}, {_pct(pool['ci95'][1])}]"
                         if pool else "(when every seed is done)")
            lines.append(f"| {ours} | {against} | {_pct(float(np.mean(values)))} ({_pct(min(values))} to "
                         f"{_pct(max(values))}) | {pool_text} | {len(values)} |")
    timings = summary["timings"]
    lines += ["", f"Wall time {timings['total_s'] / 60:.1f} min (supernet {timings['supernet_s'] / 60:.1f} min)."]
    return "\n".join(lines) + "\n"


def figure(summary: dict[str, Any]):
    """NFR (with its interval) against the cloud member's test accuracy, one point per row and seed."""
    from regnas.plot.style import SERIES_COLOURS, SERIES_MARKERS, new_figure, plot_style

    with plot_style():
        fig = new_figure(7.0, 4.6)
        axes = fig.add_subplot()
        rows = list(dict.fromkeys(r["row"] for r in summary["rows"]))
        for k, name in enumerate(rows):
            points = [r for r in summary["rows"] if r["row"] == name]
            x = np.array([100 * r["members"][1]["accuracy"] for r in points])
            y = np.array([100 * r["nfr"] for r in points])
            err = np.array([[100 * (r["nfr"] - r["nfr_ci95"][0]), 100 * (r["nfr_ci95"][1] - r["nfr"])] for r in points]).T
            axes.errorbar(x, y, yerr=err, fmt=SERIES_MARKERS[k % len(SERIES_MARKERS)], color=SERIES_COLOURS[k % len(SERIES_COLOURS)],
                          capsize=3, label=name, gid=f"row {name}")
        device, cloud = summary["settings"]["platforms"]
        axes.set_xlabel(f"{cloud} member test accuracy (%), higher is better")
        axes.set_ylabel(f"negative flip rate {device} -> {cloud} (%), lower is better")
        axes.set_title("REG-NAS against its baselines (bars: bootstrap 95% interval)")
        axes.legend(loc="best", fontsize=8)
    return fig


def write_report(out: Path, summary: dict[str, Any]) -> None:
    atomic_write_text(out / "headline.csv", to_csv(summary))
    atomic_write_text(out / "headline.md", to_markdown(summary))
    fig = figure(summary)
    fig.savefig(out / "headline.png", dpi=150, bbox_inches="tight")
