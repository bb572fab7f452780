"""Time random whole networks of a space end to end into a measurements CSV (``arch_str``, ``latency_ms_<device>``).

The rows ``regnas-lut fit`` fits a table on. For the shipped mobilenetv3 table (2026-12-02, quiet machine):
    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/measure_networks.py --space mobilenetv3 --networks 400 \\
        --device epyc_mobilenetv3 --out benchmarks/results/mobilenetv3/epyc_mobilenetv3_measured.csv
"""
from __future__ import annotations

import argparse
import csv

import numpy as np

from regnas.latency.profile import measure_networks
from search_spaces import get_space


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", required=True)
    parser.add_argument("--networks", type=int, default=400)
    parser.add_argument("--device", required=True, help="column name: latency_ms_<device>")
    parser.add_argument("--out", required=True)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    space = get_space(args.space)
    rng = np.random.default_rng(args.seed)
    archs = [space.sample(rng) for _ in range(args.networks)]
    measured = measure_networks(space, archs, settings=space.reference_settings, input_shape=(3, 32, 32), batch=1,
                                threads=1, repeats=args.repeats, warmup=5, rng=rng)
    with open(args.out, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["arch_str", f"latency_ms_{args.device}"])
        writer.writerows([space.to_str(a), f"{ms:.4f}"] for a, ms in zip(archs, measured))


if __name__ == "__main__":
    main()
