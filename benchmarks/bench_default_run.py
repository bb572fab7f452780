"""Wall time of the default `regnas-evolve --space nasbench201` run and of its parts."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch


def run_once(cache: Path, out: Path, trains: bool) -> dict:
    """The default run; ``trains``: with --no-pretrained, so that it trains (and caches) a quick supernet."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "from regnas.cli.evolve import main; raise SystemExit(main())",
                    "--space", "nasbench201", "--out", str(out), "--quiet", *(["--no-pretrained"] if trains else [])],
                   env={**os.environ, "REGNAS_CACHE": str(cache)}, check=True)
    total = time.perf_counter() - start
    history = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    result = json.loads((out / "result.json").read_text())
    checkpoint = torch.load(result["supernet"]["path"], weights_only=True)
    search_seconds = sum(h["seconds"] for h in history)
    evaluation = sum(h["evaluation_seconds"] for h in history)
    return {
        "total_s": total,
        "training_s": sum(e["seconds"] for e in checkpoint["log"]) if trains else 0.0,
        "search_s": search_seconds,
        "evaluation_s": evaluation,
        "pymoo_overhead_s": search_seconds - evaluation,
        "subnets_evaluated": sum(h["subnets_computed"] for h in history),
        "evaluations": result["evaluations"],
        "family": [(m["arch"], m["accuracy"], m["params"]) for m in result["family"]],
        "nfr": [f["nfr"] for f in result["flips"] if f["old_index"] < f["new_index"]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", default=None, help="where the runs go (default: a temporary folder)")
    args = parser.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="regnas-bench-"))
    shipped = run_once(work / "cache", work / "default", trains=False)  # the shipped supernet: what users run
    cold = run_once(work / "cache", work / "cold", trains=True)  # --no-pretrained: trains a quick supernet
    for name, r in (("default (shipped supernet)", shipped), ("--no-pretrained, cold cache (trains)", cold)):
        other = r["total_s"] - r["training_s"] - r["search_s"]
        print(f"{name}: total {r['total_s']:.0f}s = training {r['training_s']:.0f}s + search {r['search_s']:.0f}s "
              f"(evaluation {r['evaluation_s']:.0f}s, pymoo and bookkeeping {r['pymoo_overhead_s']:.1f}s) "
              f"+ start-up, data and final report {other:.0f}s; {r['subnets_evaluated']} subnets evaluated "
              f"for {r['evaluations']} family evaluations")
    for name, r in (("default", shipped), ("--no-pretrained", cold)):
        print(f"chosen family ({name}):", json.dumps(r["family"]), "NFR", r["nfr"])


if __name__ == "__main__":
    main()
