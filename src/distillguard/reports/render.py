"""Render a signed report as JSON, HTML (jinja2) and PDF (fpdf2).

Why one generic renderer: every report is the same document shape (sections of nested
objects and lists), so a new report kind needs a schema and a builder, not a layout. Missing
fields are shown first and in red in both HTML and PDF; the integrity block (hash,
signature, ledger index) closes each rendering so a printed copy can be checked.
The PDF uses the core Helvetica font: text outside Latin-1 is transliterated or replaced
with '?', and the JSON stays the authoritative copy.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

from distillguard.errors import DistillguardError
from distillguard.reports.document import is_missing

FORMATS = ("json", "html", "pdf")


def to_json(env: dict[str, Any]) -> str:
    return json.dumps(env, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def to_html(env: dict[str, Any]) -> str:
    from jinja2 import Environment, PackageLoader, select_autoescape

    jenv = Environment(
        loader=PackageLoader("distillguard.reports", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )
    tpl = jenv.get_template("report.html.j2")
    return tpl.render(
        doc=env["report"],
        integrity=env.get("integrity"),
        ledger=env.get("ledger", {}),
        report_id=env.get("report_id"),
    )


def _latin1(s: str) -> str:
    """Latin-1 text for the core PDF font: keep what fits, strip accents from what does
    not (ő -> o), replace the rest with '?'."""
    out = []
    for ch in unicodedata.normalize("NFC", s):
        if ord(ch) < 256:
            out.append(ch)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        out.append(base if base and all(ord(c) < 256 for c in base) else "?")
    return "".join(out)


def _scalar(v: Any) -> str:
    if is_missing(v):
        return f"MISSING: {v['reason']}"
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float) and (abs(v) >= 1e6 or (v and abs(v) < 1e-3)):
        return f"{v:.4g}"
    return str(v)


def to_pdf(env: dict[str, Any], *, compress: bool = True) -> bytes:
    """The PDF bytes; `compress=False` leaves content streams readable (tests)."""
    from fpdf import FPDF
    from fpdf.enums import WrapMode, XPos, YPos

    doc = env["report"]
    pdf = FPDF(format="A4")
    pdf.set_compression(compress)
    pdf.set_auto_page_break(True, margin=15)
    pdf.set_title(_latin1(doc["title"]))
    pdf.set_creator("distillguard")
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def line(
        text: str,
        *,
        size: float = 9,
        style: str = "",
        indent: int = 0,
        color: tuple[int, int, int] = (0, 0, 0),
    ) -> None:
        pdf.set_font("Helvetica", style, size)
        pdf.set_text_color(*color)
        pdf.set_x(pdf.l_margin + 4 * indent)
        pdf.multi_cell(
            width - 4 * indent,
            size * 0.5,
            _latin1(text),
            wrapmode=WrapMode.CHAR,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )

    def walk(v: Any, indent: int, label: str | None = None) -> None:
        prefix = f"{label}: " if label else ""
        if is_missing(v) or not isinstance(v, dict | list):
            red = (176, 0, 32) if is_missing(v) else (0, 0, 0)
            line(prefix + _scalar(v), indent=indent, color=red, style="B" if is_missing(v) else "")
            return
        if label:
            line(label, indent=indent, style="B")
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, indent + 1, str(k).replace("_", " "))
        elif not v:
            line("none", indent=indent + 1)
        else:
            for i, x in enumerate(v, 1):
                walk(x, indent + 1, f"[{i}]")

    line(doc["title"], size=15, style="B")
    pdf.ln(2)
    for k in ("kind", "subject", "generated_at", "pack_hash"):
        line(f"{k.replace('_', ' ')}: {doc[k]}", size=8)
    pdf.ln(2)
    if doc["missing"]:
        line(
            f"{len(doc['missing'])} mandatory field(s) declared missing:",
            style="B",
            color=(176, 0, 32),
        )
        for m in doc["missing"]:
            line(f"{m['field']}: {m['reason']}", indent=1, color=(176, 0, 32), size=8)
    else:
        line("Every mandatory field is filled.", style="B", color=(46, 125, 50))
    for name, sec in doc["sections"].items():
        pdf.ln(3)
        line(name.replace("_", " ").capitalize(), size=12, style="B")
        walk(sec, 0)
    integ = env.get("integrity")
    if integ:
        pdf.ln(3)
        line("Integrity", size=12, style="B")
        line(f"report id: {env.get('report_id')}", size=8)
        line(f"sha256 ({integ['canonicalization']}): {integ['sha256']}", size=8)
        line(f"signature ({integ['alg']}, key {integ['key_id']}): {integ['signature']}", size=8)
        led = env.get("ledger") or {}
        line(f"ledger: {led.get('origin')} record {led.get('index')}", size=8)
    return bytes(pdf.output())


def parse_formats(text: str) -> tuple[str, ...]:
    """`json,html,pdf` -> a tuple; DistillguardError (exit 2) for an unknown or empty list."""
    formats = tuple(dict.fromkeys(f.strip() for f in text.split(",") if f.strip()))
    bad = set(formats) - set(FORMATS)
    if bad or not formats:
        shown = ", ".join(sorted(bad)) if bad else repr(text)
        raise DistillguardError(f"--format: unknown format(s) {shown} (use json, html, pdf)")
    return formats


def check_writable(out_dir: Path) -> None:
    """Create `out_dir` if needed and prove a file can be written there, so that a report is
    never signed and recorded in the ledger only to fail at the write."""
    import os
    import tempfile

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out_dir, prefix=".dg-write-check-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise DistillguardError(
            f"--out {out_dir}: cannot write there ({exc.strerror or exc}); "
            "nothing was signed or recorded"
        ) from None


def write_files(out_dir: Path, files: dict[str, bytes]) -> list[Path]:
    """Write every file or none: each goes to a temporary name first and is renamed into
    place; on any error the files of this call are removed again."""
    import os
    import tempfile

    done: list[Path] = []
    tmp: str | None = None
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=f".{name}.", suffix=".part")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, out_dir / name)
            tmp = None
            done.append(out_dir / name)
    except OSError as exc:
        for p in [*done, *([Path(tmp)] if tmp else [])]:
            p.unlink(missing_ok=True)
        raise DistillguardError(f"cannot write to {out_dir}: {exc.strerror or exc}") from None
    return done


def write(
    env: dict[str, Any],
    out_dir: Path,
    formats: tuple[str, ...] = FORMATS,
    extra: dict[str, bytes] | None = None,
) -> list[Path]:
    """Write the chosen renderings as `<kind>-<report id>.<ext>` (plus `extra` files), all
    or none; return the paths."""
    bad = set(formats) - set(FORMATS)
    if bad:
        raise DistillguardError(f"unknown format(s) {', '.join(sorted(bad))} (use json, html, pdf)")
    stem = f"{env['report']['kind']}-{env['report_id']}"
    files: dict[str, bytes] = {}
    for fmt in formats:  # render everything before writing anything
        if fmt == "json":
            files[f"{stem}.json"] = to_json(env).encode("utf-8")
        elif fmt == "html":
            files[f"{stem}.html"] = to_html(env).encode("utf-8")
        else:
            files[f"{stem}.pdf"] = to_pdf(env)
    return write_files(out_dir, {**files, **(extra or {})})
