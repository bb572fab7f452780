"""Pareto-front figures of a run folder."""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def save_run_figure(run_dir: str | Path) -> Path:
    """``pareto.png``: the first two objective columns of the front, the chosen family highlighted."""
    run_dir = Path(run_dir)
    result = json.loads((run_dir / "result.json").read_text())
    columns, front = result["columns"], result["front"]
    fig, ax = plt.subplots(figsize=(5, 4), dpi=120)
    x = [f["objectives"][0] for f in front]
    y = [f["objectives"][1 if len(columns) > 1 else 0] for f in front]
    ax.scatter(x, y, label="front")
    ax.scatter([x[result["chosen"]]], [y[result["chosen"]]], marker="*", s=200, label="chosen")
    ax.set_xlabel(columns[0])
    ax.set_ylabel(columns[1] if len(columns) > 1 else columns[0])
    ax.legend()
    fig.tight_layout()
    path = run_dir / "pareto.png"
    fig.savefig(path)
    plt.close(fig)
    return path
