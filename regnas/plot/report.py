"""``report.html``: one self-contained page per run (figures as base64 PNG, tables, config, versions, seeds)."""
from __future__ import annotations

import base64
import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from regnas.errors import ConfigError
from regnas.io import atomic_write_text
from regnas.plot.columns import engineering
from regnas.plot.load import Run, load_run
from regnas.plot.output import FIGURES, missing_figures
from regnas.plot.style import png_bytes

REPORT = "report.html"
CAPTIONS = {
    "pareto": "Pareto front on every pair of objectives; the star is the chosen family.",
    "flip_matrix": "Negative flips of every ordered pair of the chosen family's members (test split).",
    "hypervolume": "Hypervolume of the front per generation, and the population of a few generations.",
    "parallel_coordinates": "Every family of the final front across all objectives.",
    "accuracy_latency": "Accuracy against latency on each platform; arrows link the members small to large.",
}
CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2em auto; max-width: 1200px;
       color: #222; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: .5em 0; font-size: .92em; }
th, td { border: 1px solid #ddd; padding: .3em .6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font-size: .9em; word-break: break-all; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; font-size: .92em; } .note { color: #666; }
"""


class Shown(str):
    """Text that stands for a number (``46.07k``, ``6.10%``): set right-aligned like numbers."""


class Code(str):
    """Text shown in a monospace font, such as architecture strings."""


def _cell(value: Any) -> str:
    if isinstance(value, Shown):
        return f'<td class="num">{html.escape(value)}</td>'
    if isinstance(value, Code):
        return f"<td><code>{html.escape(value)}</code></td>"
    if isinstance(value, float):
        return f'<td class="num">{value:.6g}</td>'
    if isinstance(value, int) and not isinstance(value, bool):
        return f'<td class="num">{value:,}</td>'
    if isinstance(value, (dict, list)):
        return f"<td><code>{html.escape(json.dumps(value))}</code></td>"
    return f"<td>{html.escape(str(value))}</td>"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], table_id: str) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _mapping_table(mapping: dict[str, Any], table_id: str) -> str:
    return _table(["key", "value"], [[k, v] for k, v in mapping.items()], table_id)


def _percent(value: float) -> Shown:
    return Shown(f"{100 * value:.2f}%")


def family_table(run: Run) -> str:
    latency_keys = [k for k in (run.family[0] if run.family else {}) if k.startswith("latency@")]
    header = ["member", "platform", "accuracy (test)", "accuracy (validation)", "params", "FLOPs",
              *[f"{k} (ms)" for k in latency_keys], "architecture"]
    rows = [[m["name"], m.get("platform") or "—", _percent(m["accuracy"]), _percent(m["validation_accuracy"]),
             Shown(engineering(m["params"])), Shown(engineering(m["flops"])),
             *[Shown(f"{m[k]:.4g}") for k in latency_keys], Code(m["arch"])]
            for m in run.family]
    return _table(header, rows, "family")


def flips_table(run: Run) -> str:
    header = ["old → new", "NF", "NFR", "NFR 95% CI", "rel_NFR", "NFI"]
    rows = [[f"{f['old']} → {f['new']}", int(f["nf"]), _percent(f["nfr"]),
             Shown(f"[{_percent(f['nfr_ci95'][0])}, {_percent(f['nfr_ci95'][1])}]"), Shown(f"{f['rel_nfr']:.3f}"),
             Shown(f"{f['nfi']:.3f}")]
            for f in run.flips]
    return _table(header, rows, "flips")


def front_table(run: Run) -> str:
    columns = run.columns
    header = ["#", "chosen", "feasible", *[c.short_label for c in columns], "members small → large"]
    rows = [[index, "★" if index == run.chosen else "", "yes" if family.feasible else "no",
             *[Shown(c.format(v)) for c, v in zip(columns, family.objectives)], Code("  →  ".join(family.members))]
            for index, family in enumerate(run.front)]
    return _table(header, rows, "front")


def figures_html(run: Run) -> str:
    missing = missing_figures(run)
    parts = []
    for name, draw in FIGURES.items():
        if name in missing:
            parts.append(f'<p class="note">{html.escape(name)}: not drawn, {html.escape(missing[name])}.</p>')
            continue
        encoded = base64.b64encode(png_bytes(draw(run))).decode("ascii")
        caption = html.escape(CAPTIONS[name])
        parts.append(f'<figure id="figure-{name}"><img alt="{caption}" src="data:image/png;base64,{encoded}">'
                     f"<figcaption>{caption}</figcaption></figure>")
    return "\n".join(parts)


def report_html(run: Run) -> str:
    title = f"regnas run {run.name}"
    objectives = "".join(f"<li><code>{html.escape(c.name)}</code>: {html.escape(c.axis_label)}</li>"
                         for c in run.columns)
    last = run.history[-1] if run.history else {}
    evaluations = f", {last['evaluations']} families evaluated" if "evaluations" in last else ""
    sections = [f"<h1>{html.escape(title)}</h1>",
                f'<p id="status">{html.escape(run.status)}{html.escape(evaluations)}; folder '
                f"<code>{html.escape(str(run.path))}</code></p>", f"<p>Objectives:</p><ul>{objectives}</ul>"]
    if run.finished:
        result = run.result
        sections += [f"<h2>Chosen family</h2><p class=\"note\">picked by {html.escape(str(result.get('pick', '?')))} "
                     f"among {len(run.front)} families on the front.</p>", family_table(run),
                     f"<h2>Negative flips ({html.escape(str(result.get('flips_split', 'test')))} split, "
                     f"N = {html.escape(str(result.get('test_size', '?')))})</h2>", flips_table(run)]
    else:
        sections.append('<p class="note">No chosen family and no flip table yet: result.json is written when the '
                        "search finishes. The figures show the last completed generation.</p>")
    sections += ["<h2>Figures</h2>", figures_html(run), "<h2>Pareto front</h2>", front_table(run),
                 "<h2>Configuration</h2>", _mapping_table(run.config, "config") if run.config else
                 '<p class="note">no config.json</p>']
    if run.finished:
        for key, heading in (("seeds", "Seeds"), ("versions", "Versions"), ("supernet", "Supernet"), ("data", "Data")):
            if isinstance(run.result.get(key), dict):
                sections += [f"<h2>{heading}</h2>", _mapping_table(run.result[key], key)]
    body = "\n".join(sections)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{CSS}</style></head><body>\n{body}\n</body></html>\n")


def write_report(run_dir: str | Path | Run) -> Path:
    """Write ``RUN_DIR/report.html`` (a running run gives a report of its last generation) and return its path."""
    run = load_run(run_dir)
    if run.path is None:
        raise ConfigError("this result has no run folder to hold report.html; pass the run folder")
    return atomic_write_text(run.path / REPORT, report_html(run))
