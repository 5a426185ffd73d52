"""The root CLI turns exits, usage errors and DistillguardError into exit codes, no tracebacks."""

from __future__ import annotations

import subprocess
import sys


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "distillguard", *args], capture_output=True, text=True, timeout=120
    )


def test_version_exits_zero() -> None:
    r = _run("--version")
    assert r.returncode == 0
    assert r.stdout.startswith("distillguard ")


def test_usage_error_is_exit_2_with_usage() -> None:
    r = _run("rules", "--no-such-option")
    assert r.returncode == 2
    assert "No such option" in r.stderr
    assert "Traceback" not in r.stderr


def test_missing_file_is_a_one_line_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = _run("rules", "validate", str(tmp_path / "missing.yaml"))
    assert r.returncode != 0
    assert "Traceback" not in r.stderr


def test_typer_exit_code_is_kept(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`rules test` ends with typer.Exit(1) when a case fails: the process must exit 1."""
    from distillguard.rules import default_pack_path

    src = default_pack_path()
    pack = tmp_path / "default.yaml"
    pack.write_text(src.read_text())
    cases = src.with_name("default.tests.yaml").read_text()
    first = cases.index("  - name: verified US person on a general model is allowed")
    head, tail = cases[:first], cases[first:]
    tail = tail.replace("expect: allow", "expect: block", 1)
    (tmp_path / "default.tests.yaml").write_text(head + tail)
    r = _run("rules", "test", str(pack))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "FAIL" in r.stdout


def test_unwritable_output_path_is_bad_input_not_a_crash(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """An --output in a folder that does not exist: one line naming the path, exit 2."""
    import os

    env = {**os.environ, "DISTILLGUARD_HOME": str(tmp_path / "home")}
    env.pop("DISTILLGUARD_DEBUG", None)
    base = [sys.executable, "-m", "distillguard", "ledger"]
    subprocess.run([*base, "append", '{"type": "t"}'], env=env, check=True, timeout=120)
    target = tmp_path / "no-such-folder" / "checkpoint.txt"
    r = subprocess.run(
        [*base, "checkpoint", "--output", str(target)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip() == f"error: {target}: No such file or directory"
