"""What every console entry point shares: one-line errors with exit code 2, Ctrl-C with exit code 130."""
from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable, Sequence

from regnas.errors import RegnasError

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


def entry_point(prog: str) -> Callable[[Callable[[Sequence[str] | None], int | None]], Callable[[Sequence[str] | None], int]]:
    """Wrap ``main(argv)``: a RegnasError becomes ``prog: error: message`` on stderr and exit code 2."""

    def wrap(main: Callable[[Sequence[str] | None], int | None]) -> Callable[[Sequence[str] | None], int]:
        @functools.wraps(main)
        def run(argv: Sequence[str] | None = None) -> int:
            try:
                return int(main(argv) or 0)
            except RegnasError as error:
                print(f"{prog}: error: {error}", file=sys.stderr)
                return EXIT_BAD_INPUT
            except SystemExit as exit_:  # argparse: --help, usage errors; main(argv) returns codes, never exits
                return exit_.code if isinstance(exit_.code, int) else EXIT_BAD_INPUT
            except KeyboardInterrupt:
                print(f"\n{prog}: interrupted", file=sys.stderr)
                return EXIT_INTERRUPTED

        return run

    return wrap


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose usage errors are one line and exit code 2, like every other bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")
