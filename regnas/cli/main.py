"""regnas: list what is registered (spaces, objectives, algorithms, platforms) and show an architecture."""
from __future__ import annotations

from collections.abc import Sequence

from regnas.cli.common import ArgumentParser, entry_point
from search_spaces import DEFAULT_SPACE


def parser() -> ArgumentParser:
    p = ArgumentParser(prog="regnas", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("spaces", help="registered search spaces")
    sub.add_parser("objectives", help="objectives usable with --objectives")
    sub.add_parser("algorithms", help="pymoo algorithms usable with --algorithm")
    sub.add_parser("platforms", help="latency platforms usable with --platforms")
    show = sub.add_parser("arch", help="parse an architecture string and show its genes, size and nesting footprint")
    show.add_argument("arch")
    show.add_argument("--space", default=DEFAULT_SPACE)
    return p


@entry_point("regnas")
def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "spaces":
        from search_spaces import get_space, list_spaces

        for name in list_spaces():
            space = get_space(name)
            print(f"{name:<14} {space.n_genes} genes, {space.size:,} architectures, reference {dict(space.supernet_defaults)}")
            for setting in space.settings:
                print(f"  --setting {setting.name}=INT  {setting.help} (reference {setting.reference}, "
                      f"quick search {setting.quick}, at least {setting.low})")
    elif args.command == "objectives":
        from regnas.objectives import OBJECTIVES, list_objectives

        for name in list_objectives():
            entry = OBJECTIVES.get(name) if name in OBJECTIVES else None
            detail = f"{entry.direction:<4} {entry.scope:<7} {entry.description}" if entry else "min  member  latency of each member on PLATFORM"
            print(f"{name:<18} {detail}")
    elif args.command == "algorithms":
        from evolution.algorithms import list_algorithms

        print("\n".join(list_algorithms()))
    elif args.command == "platforms":
        from regnas.latency.platforms import describe_platform, list_platforms

        for name in list_platforms():
            print(f"{name:<16} {describe_platform(name)}")
    elif args.command == "arch":
        from search_spaces import get_space

        space = get_space(args.space)
        arch = space.from_str(args.arch)
        print(space.to_str(arch))
        for gene, value, level in zip(space.genes, arch, space.footprint(arch)):
            print(f"  {gene.name:<12} {value:<14} weights {level}")
        if space.functional_key(arch) != space.to_str(arch):
            print(f"  computes as {space.functional_key(arch)} (dead ops removed)")
    return 0
