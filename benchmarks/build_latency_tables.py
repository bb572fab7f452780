"""Build the shipped NAS-Bench-201 device tables (regnas/latency/tables/*.json) and report their accuracy.

For each of the ten latency columns of the measurements CSV: fit on 1,000 rows drawn with the seed,
report MAPE and Kendall tau on the other 14,625 rows, beside (a) a plain additive table (one cost per
op on each edge, no liveness, ordinary least squares) fitted on the same rows and (b) the repeatability of the measurements
themselves: NAS-Bench-201 cells with edge 2<-1 empty come in isomorphic twins (swap nodes 1 and 2),
the same network measured twice, so one twin's latency "predicting" the other's bounds what any
predictor can reach on those rows.

    PYTHONPATH=. python benchmarks/build_latency_tables.py [--csv PATH] [--seed 0] [--train 1000] [--out-dir DIR]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from regnas.latency.fit import fit_table
from regnas.latency.measurements import latency_columns, read_measurements
from regnas.latency.schemes import KeyScheme, codes_of, get_key_scheme, register_key_scheme
from regnas.latency.validate import compare, validate
from search_spaces.nasbench201.space import EDGES
from search_spaces.registry import get_space

HW_NAS_BENCH = "HW-NAS-Bench (Li et al., ICLR 2021; MIT licence)"
HELP = "HELP (Lee et al., NeurIPS 2021; MIT licence)"
DEVICES = {
    "raspi4": ("Raspberry Pi 4, measured", HW_NAS_BENCH, 1),
    "pixel3": ("Google Pixel 3, measured", HW_NAS_BENCH, 1),
    "eyeriss": ("Eyeriss ASIC, simulated", HW_NAS_BENCH, 1),
    "fpga": ("FPGA, simulated", HW_NAS_BENCH, 1),
    "pixel2": ("Google Pixel 2, measured, whole ms", HELP, 1),
    "samsung_a50": ("Samsung Galaxy A50, measured, whole ms", HELP, 1),
    "gold_6226": ("Intel Xeon Gold 6226 CPU, measured", HELP, 1),
    "titan_rtx_1": ("NVIDIA Titan RTX GPU, batch 1, measured", HELP, 1),
    "titan_rtx_256": ("NVIDIA Titan RTX GPU, batch 256, measured", HELP, 256),
    "2080ti_1": ("NVIDIA RTX 2080 Ti GPU, batch 1, measured", HELP, 1),
}
DEFAULT_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "nb201" / "nb201_archs.csv"
TABLES = Path(__file__).resolve().parents[1] / "regnas" / "latency" / "tables"


def _plain_keys(arch, settings, input_shape) -> list[str]:
    return ["network"] + [f"{dst}<-{src}/{op}" for op, (dst, src) in zip(arch, EDGES) if op != "none"]


def plain_additive(archs: list[str], latency_ms: np.ndarray, train: np.ndarray) -> np.ndarray:
    """Predictions for every row of a plain additive table fitted by ordinary least squares on ``train``."""
    space = get_space("nasbench201")
    vocabulary, counts = get_key_scheme(space, "plain-edges").count_matrix(space, codes_of(space, archs), {}, (3, 32, 32))
    design = counts.toarray()
    costs = np.linalg.lstsq(design[train], latency_ms[train], rcond=None)[0]
    return design @ costs


def twin_rows(archs: list[str]) -> np.ndarray:
    """Pairs (i, j) of rows holding isomorphic cells: ops (a, b, none, c, d, e) and (b, a, none, c, e, d)."""
    space = get_space("nasbench201")
    row_of = {space.from_str(a): i for i, a in enumerate(archs)}
    pairs = []
    for arch, i in row_of.items():
        if arch[2] == "none":
            twin = (arch[1], arch[0], "none", arch[3], arch[5], arch[4])
            if twin in row_of and row_of[twin] > i:
                pairs.append((i, row_of[twin]))
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", default=str(DEFAULT_CSV))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train", type=int, default=1000)
    parser.add_argument("--out-dir", default=str(TABLES))
    args = parser.parse_args(argv)
    space = get_space("nasbench201")
    register_key_scheme(KeyScheme("nasbench201", "plain-edges", "one cost per op on each edge, dead or alive", _plain_keys), overwrite=True)
    header = "| device | scheme chosen | tau | MAPE % | plain tau | plain MAPE % | twin tau | twin MAPE % | model on twins: tau | MAPE % |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for column in latency_columns(args.csv):
        measured = read_measurements(args.csv, column)
        device_name, source, batch = DEVICES[measured.device]
        # the same draws as `regnas-lut fit --train 1000 --seed 0`: rows, then cross-validation folds
        rng = np.random.default_rng(args.seed)
        train = np.sort(rng.choice(len(measured), size=args.train, replace=False))
        held = np.setdiff1d(np.arange(len(measured)), train)
        common = dict(settings={"C": 16, "N": 5}, input_shape=(3, 32, 32), batch=batch)
        result = fit_table(space, measured.subset(train), rng=rng, **common, meta={"device_name": device_name, "source": source})
        held_archs = [measured.archs[i] for i in held]
        report = validate(result.table, held_archs, measured.latency_ms[held])
        baseline = compare(plain_additive(measured.archs, measured.latency_ms, train)[held], measured.latency_ms[held])
        twins = twin_rows(measured.archs)
        twins = twins[np.isin(twins, held).all(axis=1)]
        y = measured.latency_ms
        twin = compare(y[twins[:, 1]], y[twins[:, 0]])
        on_twins = validate(result.table, [measured.archs[i] for i in twins[:, 0]], y[twins[:, 0]])
        table = result.table
        table.meta["validation"] = {**report.as_dict(), "against": f"the {len(held)} rows of nb201_archs.csv not fitted on (seed {args.seed})"}
        table.meta["measurements_provenance"] = f"{source}, column {column} of the NAS-Bench-201 measurements collected in nb201_archs.csv"
        table.save(Path(args.out_dir) / f"{measured.device}.json")
        print(
            f"| {measured.device} | {result.scheme} | {report.kendall_tau:.3f} | {report.mape_percent:.2f} | {baseline.kendall_tau:.3f} | "
            f"{baseline.mape_percent:.2f} | {twin.kendall_tau:.3f} | {twin.mape_percent:.2f} | {on_twins.kendall_tau:.3f} | {on_twins.mape_percent:.2f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
