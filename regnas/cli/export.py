"""regnas-export: the chosen family of a finished run as standalone models (ONNX, torch.export, state dict) with
model cards, verified against the search's predictions."""
from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from regnas.cli.common import ArgumentParser, entry_point

EPILOG = """examples:
  regnas-export runs/demo                                   every member, every format, into runs/demo/export
  regnas-export runs/demo --members pixel3 --format onnx --out ship
"""


def parser() -> ArgumentParser:
    from regnas.export import ATOL, FORMATS, RTOL

    p = ArgumentParser(prog="regnas-export", description=__doc__, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", metavar="RUN_DIR", help="a finished regnas-evolve run folder (holding result.json)")
    p.add_argument("--members", help="comma-separated member names (default: the whole family)")
    p.add_argument("--format", default=",".join(FORMATS), help=f"comma-separated: {', '.join(FORMATS)} (default all)")
    p.add_argument("--out", help="folder to write (default RUN_DIR/export); written whole or not at all")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier export in --out")
    p.add_argument("--supernet", help="the run's supernet checkpoint, if it moved (its checksum must be the run's)")
    p.add_argument("--data-path", help="the run's data, if it moved (it must split into the run's splits)")
    p.add_argument("--no-verify", action="store_true",
                   help=f"skip the self-verification (logits within atol {ATOL} + rtol {RTOL} x |logit| of "
                        "PyTorch's on the run's images, accuracies and NF equal to the run's)")
    return p


@entry_point("regnas-export")
def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from regnas.export import export_family

    members = [m.strip() for m in args.members.split(",")] if args.members is not None else None
    report = export_family(args.run, args.out if args.out is not None else Path(args.run) / "export", members,
                           args.format, verify_outputs=not args.no_verify, supernet=args.supernet,
                           data_path=args.data_path, overwrite=args.overwrite)
    for member in report.members:
        print(f"{member.name}: {', '.join(str(path) for path in member.files.values())}, {member.card_markdown}")
    print(f"family card: {report.family_markdown}")
    if report.verification is None:
        print("not verified (--no-verify)")
    else:
        check = report.verification
        worst = max((c.max_abs_diff for c in check.formats), default=0.0)
        print(f"verified on {sum(check.images.values())} images: logits within atol {check.atol} + rtol {check.rtol} "
              f"(largest difference {worst:.3g}), accuracies and NF of every pair equal the run's")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
