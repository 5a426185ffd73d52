"""The one `distillguard` command.

Each part contributes its own commands through `distillguard.<part>.cli.register(app)`,
so this file only wires them together and owns error handling: a `DistillguardError`
becomes a one-line message and its exit code, anything unexpected a short
"internal error" line (set DISTILLGUARD_DEBUG=1 for the traceback), except an OSError
that names a file (an --output in a missing folder, an unreadable path): that is bad input,
one line and exit 2. Part modules keep their heavy imports inside the commands so that
`distillguard --help` stays fast.
"""

from __future__ import annotations

import importlib
import os
import sys

import typer

from distillguard import __version__
from distillguard.errors import DistillguardError

# Order here is the order of `--help`.
PARTS = (
    "gateway",
    "identity",
    "rules",
    "ledger",
    "detect",
    "guard",
    "screening",
    "weights",
    "reports",
)

app = typer.Typer(
    name="distillguard",
    help="Export-control enforcement and distillation defence for model providers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"distillguard {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Export-control enforcement and distillation defence for model providers."""


def _register_parts() -> None:
    for part in PARTS:
        name = f"distillguard.{part}.cli"
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # the part has no commands yet
                continue
            raise
        module.register(app)


_register_parts()


def _usage_errors() -> tuple[type[Exception], ...]:
    """click's ClickException and typer's vendored copy of it (typer ships its own click, so
    a missing or malformed argument raises `typer._click.exceptions.UsageError`)."""
    import click

    vendored = [c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"]
    return (click.exceptions.ClickException, *vendored)


def main() -> None:
    """Entry point: run the Typer app, turning errors into one-line messages."""
    try:
        # Without standalone mode click *returns* the code of a typer.Exit(n) instead of
        # raising it; a command's own return value is not an exit code.
        result = app(standalone_mode=False)
    except DistillguardError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # click's usage errors and anything unexpected
        if isinstance(exc, _usage_errors()):
            exc.show()  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        if isinstance(exc, OSError) and exc.filename and not os.environ.get("DISTILLGUARD_DEBUG"):
            # a path the user gave that cannot be read or written (missing folder, no
            # permission, a directory where a file was expected): bad input, not a crash
            typer.secho(
                f"error: {exc.filename}: {exc.strerror or exc}", fg=typer.colors.RED, err=True
            )
            sys.exit(2)
        if os.environ.get("DISTILLGUARD_DEBUG"):
            raise
        typer.secho(
            f"internal error: {type(exc).__name__}: {exc} (set DISTILLGUARD_DEBUG=1 for details)",
            fg=typer.colors.RED,
            err=True,
        )
        sys.exit(3)
    sys.exit(result if isinstance(result, int) else 0)


if __name__ == "__main__":
    main()
