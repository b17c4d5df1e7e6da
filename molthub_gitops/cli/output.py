"""Shared helpers of the command line: printing problems, writing results, exit codes.

Exit codes, as Argo CD, Flux and Conftest use them:

* 0 -- clean;
* 1 -- something to act on (findings at or above ``--fail-on``, differences for ``diff``);
* 2 -- the input could not be processed (:class:`~molthub_gitops.errors.InputError` and
  every other :class:`~molthub_gitops.errors.MolthubError`, bad options);
* 3 -- a bug in molthub itself: a short "internal error" line, and the traceback only with
  ``--debug`` or ``MOLTHUB_DEBUG=1``.

Problems go to stderr as ``file:line:col: error[code]: message`` with an indented hint, so
editors and CI logs can jump to them. Colour is used only when stderr is a terminal and
``NO_COLOR`` is not set.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Any, Final

import click

from molthub_gitops.errors import InputError, MolthubError, Problem

__all__ = [
    "EXIT_ACTION",
    "EXIT_INPUT",
    "EXIT_INTERNAL",
    "EXIT_OK",
    "command_guard",
    "format_problem",
    "print_error",
    "print_problems",
    "use_color",
    "write_stdout",
    "write_text_atomic",
    "write_texts_atomic",
]

EXIT_OK: Final = 0
EXIT_ACTION: Final = 1
EXIT_INPUT: Final = 2
EXIT_INTERNAL: Final = 3

DEBUG_ENV: Final = "MOLTHUB_DEBUG"


def use_color(stream: IO[str]) -> bool:
    """True when ``stream`` is a terminal and the user has not asked for plain output."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def format_problem(problem: Problem, *, color: bool = False) -> str:
    """``file:line:col: error[code]: message`` plus ``see also`` and ``hint`` lines."""

    def style(text: str, **kw: Any) -> str:
        return click.style(text, **kw) if color else text

    where = f"{style(str(problem.location), bold=True)}: " if problem.location else ""
    lines = [f"{where}{style('error', fg='red', bold=True)}[{problem.code}]: {problem.message}"]
    lines.extend(f"  see also: {rel}" for rel in problem.related)
    if problem.hint:
        lines.append(f"  {style('hint', fg='cyan')}: {problem.hint}")
    return "\n".join(lines)


def print_problems(problems: Iterable[Problem], stream: IO[str] | None = None) -> int:
    """Print every problem (sorted by place) to ``stream`` (stderr); return how many."""
    out = stream if stream is not None else sys.stderr
    color = use_color(out)
    items = sorted(problems, key=Problem.sort_key)
    for problem in items:
        out.write(format_problem(problem, color=color) + "\n")
    if items:
        noun = "problem" if len(items) == 1 else "problems"
        out.write(f"{len(items)} {noun} found\n")
    out.flush()
    return len(items)


def print_error(message: str, stream: IO[str] | None = None) -> None:
    """One ``error: message`` line on stderr."""
    out = stream if stream is not None else sys.stderr
    label = click.style("error", fg="red", bold=True) if use_color(out) else "error"
    out.write(f"{label}: {message}\n")
    out.flush()


def write_stdout(text: str) -> None:
    """Write ``text`` to stdout as UTF-8 bytes, exactly (no newline translation)."""
    stream = sys.stdout.buffer
    stream.write(text.encode("utf-8"))
    stream.flush()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_texts_atomic(files: Sequence[tuple[Path, str]]) -> None:
    """Write every ``(path, text)`` (UTF-8) all or nothing: each goes to a temporary file
    beside its target first, and only when all are written are they renamed into place, so
    readers see the old files or the whole new ones. Files get the usual mode (0666 less the
    umask). Raises OSError, leaving no temporary file behind."""
    mode = 0o666 & ~_umask()
    written: list[tuple[str, Path]] = []
    try:
        for path, text in files:
            try:
                fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                           dir=path.parent)
                written.append((tmp, path))
                with os.fdopen(fd, "wb") as fh:
                    fh.write(text.encode("utf-8"))
                    fh.flush()
                    os.fsync(fh.fileno())
                os.chmod(tmp, mode)
            except OSError as exc:
                exc.filename = str(path)
                raise
        for tmp, path in written:
            os.replace(tmp, path)
    except BaseException:
        for tmp, _ in written:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically (see :func:`write_texts_atomic`)."""
    write_texts_atomic([(path, text)])


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, io.UnsupportedOperation):
        pass


def _debug_requested(flag: bool) -> bool:
    return flag or os.environ.get(DEBUG_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def command_guard(fn: Callable[..., int | None]) -> Callable[..., None]:
    """Decorate a click command body: add ``--debug`` and map its outcome to an exit code.

    The body returns an exit code (``None`` means 0). :class:`InputError` prints its problems
    and exits 2; any other :class:`MolthubError` prints its message and exits 2; click's own
    exceptions pass through (click prints usage errors and exits 2); anything else is a bug:
    "internal error" and exit 3, with the traceback only under ``--debug``/``MOLTHUB_DEBUG=1``.
    """

    @click.option(
        "--debug",
        is_flag=True,
        default=False,
        help=f"Show tracebacks of internal errors (also: {DEBUG_ENV}=1).",
    )
    @functools.wraps(fn)
    def wrapper(*args: Any, debug: bool, **kwargs: Any) -> None:
        code: int
        try:
            result = fn(*args, **kwargs)
            code = EXIT_OK if result is None else result
        except InputError as exc:
            print_problems(exc.problems)
            code = EXIT_INPUT
        except MolthubError as exc:
            print_error(str(exc))
            code = EXIT_INPUT
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:
            # The reader went away (`molthub render | head`): stop quietly, as cat does.
            _silence_stdout()
            code = EXIT_OK
        except KeyboardInterrupt:
            print_error("interrupted")
            code = 130
        except Exception as exc:
            print_error(
                f"internal error: {type(exc).__name__}. This is a bug in molthub; "
                f"run again with --debug (or {DEBUG_ENV}=1) for the traceback and report it."
            )
            if _debug_requested(debug):
                traceback.print_exc(file=sys.stderr)
            code = EXIT_INTERNAL
        if code != EXIT_OK:
            raise click.exceptions.Exit(code)

    return wrapper
