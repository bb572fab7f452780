"""Time to predict the latency of 10,000 architectures: predict_many against a per-architecture loop.

    PYTHONPATH=. python benchmarks/latency_predict_speed.py [--platform pixel3] [--count 10000] [--seed 0]
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from regnas.latency import get_platform
from search_spaces.registry import get_space


def seconds(work) -> tuple[float, object]:
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform", default="pixel3")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    table = get_platform(args.platform)
    space = get_space(table.meta["space"])
    rng = np.random.default_rng(args.seed)
    archs = [space.sample(rng) for _ in range(args.count)]
    strings = [space.to_str(a) for a in archs]
    codes = np.array([space.encode(a) for a in archs])
    import torch  # noqa: F401  (imported by the nb201 keys; loaded here so "first call" times the cache alone)

    cold, _ = seconds(lambda: table.predict_many(codes[:1]))  # first use builds the scheme's per-space cache
    loop, looped = seconds(lambda: np.array([table.predict(a) for a in archs]))
    from_tuples, by_tuples = seconds(lambda: table.predict_many(archs))
    from_strings, _ = seconds(lambda: table.predict_many(strings))
    from_codes, by_codes = seconds(lambda: table.predict_many(codes))
    assert np.allclose(looped, by_tuples) and np.allclose(looped, by_codes)
    print(f"platform {args.platform} (scheme {table.meta['key_scheme']}), {args.count} architectures, one process:")
    print(f"  first call (builds the scheme cache, once per process): {cold * 1e3:.1f} ms")
    print(f"  loop of predict(arch):                {loop * 1e3:.1f} ms")
    print(f"  predict_many(gene tuples):            {from_tuples * 1e3:.1f} ms ({loop / from_tuples:.0f}x faster than the loop)")
    print(f"  predict_many(canonical strings):      {from_strings * 1e3:.1f} ms ({loop / from_strings:.0f}x)")
    print(f"  predict_many(gene-index array):       {from_codes * 1e3:.1f} ms ({loop / from_codes:.0f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
