"""What every console entry point shares: one-line errors with exit code 2, Ctrl-C with exit code 130."""
from __future__ import annotations

import argparse
import errno
import functools
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from regnas.errors import RegnasError, RegnasWarning

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
# OS errors about a path the user gave (permissions, the wrong kind of file, a read-only or full disk) are
# bad input, not bugs; any other OSError keeps its traceback.
USER_PATH_ERRNOS = frozenset({errno.ENOENT, errno.EACCES, errno.EPERM, errno.EISDIR, errno.ENOTDIR, errno.EROFS,
                              errno.ENOSPC, errno.EDQUOT, errno.ENAMETOOLONG, errno.ELOOP, errno.EEXIST,
                              errno.ENOTEMPTY})


def entry_point(prog: str) -> Callable[[Callable[[Sequence[str] | None], int | None]], Callable[[Sequence[str] | None], int]]:
    """Wrap ``main(argv)``: a RegnasError, or an OSError about a named path (see ``USER_PATH_ERRNOS``), becomes
    ``prog: error: message`` on stderr and exit code 2, and a RegnasWarning ``prog: warning: message``; this is the
    one place that turns errors and warnings into lines."""

    def wrap(main: Callable[[Sequence[str] | None], int | None]) -> Callable[[Sequence[str] | None], int]:
        @functools.wraps(main)
        def run(argv: Sequence[str] | None = None) -> int:
            with warnings.catch_warnings():
                warnings.showwarning = one_line_warnings(prog, warnings.showwarning)
                return guarded(argv)

        def guarded(argv: Sequence[str] | None) -> int:
            try:
                return int(main(argv) or 0)
            except RegnasError as error:
                print(f"{prog}: error: {error}", file=sys.stderr)
                return EXIT_BAD_INPUT
            except OSError as error:
                if error.errno not in USER_PATH_ERRNOS or error.filename is None:
                    raise
                print(f"{prog}: error: {path_error(error)}", file=sys.stderr)
                return EXIT_BAD_INPUT
            except SystemExit as exit_:  # argparse: --help, usage errors; main(argv) returns codes, never exits
                return exit_.code if isinstance(exit_.code, int) else EXIT_BAD_INPUT
            except KeyboardInterrupt:
                print(f"\n{prog}: interrupted", file=sys.stderr)
                return EXIT_INTERRUPTED

        return run

    return wrap


def one_line_warnings(prog: str, default: Callable[..., None]) -> Callable[..., None]:
    """A ``warnings.showwarning`` printing regnas's own warnings as ``prog: warning: message`` (others as before)."""

    def show(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
        if issubclass(category, RegnasWarning):
            print(f"{prog}: warning: {message}", file=sys.stderr)
        else:
            default(message, category, *args, **kwargs)

    return show


def path_error(error: OSError) -> str:
    """``'out/x.json': Read-only file system`` from an OSError that names its path(s)."""
    paths = " -> ".join(repr(str(p)) for p in (error.filename, error.filename2) if p is not None)
    return f"{paths}: {error.strerror or type(error).__name__}"


def add_setting_option(parser: argparse.ArgumentParser, what: str) -> None:
    """``--setting KEY=VALUE`` (repeatable): a size setting of the space's networks, checked by the space."""
    parser.add_argument("--setting", action="append", default=[], metavar="KEY=VALUE",
                        help=f"{what}, e.g. C=16 (repeatable; each space declares its settings and defaults: "
                             "see `regnas spaces`)")


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose usage errors are one line and exit code 2, like every other bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def check_scheduler_flags(scheduler: str, workers: int | None, device: str = "auto") -> None:
    """--scheduler is one way of spreading the evaluation, on CPUs: a tcp://HOST:PORT address, and neither
    --workers N > 1 nor a GPU --device beside it (one line each)."""
    from regnas.device import resolve_device
    from regnas.errors import ConfigError
    from regnas.eval_dask import check_scheduler_address

    check_scheduler_address(scheduler)
    if workers is not None and workers > 1:
        raise ConfigError(f"--scheduler {scheduler} and --workers {workers} both spread the evaluation; give one of them")
    if device != "auto" and resolve_device(device).type != "cpu":
        raise ConfigError(f"--scheduler {scheduler} evaluates on the cluster's CPUs; --device {device} "
                          "cannot go with it: drop --device or use --device cpu")
