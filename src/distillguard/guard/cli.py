"""`distillguard guard ...`: check prompts, evaluate, train, learn reasoning formats.

Heavy imports (numpy, scipy, the model) stay inside the commands so `--help` is fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from distillguard.errors import DistillguardError

guard_app = typer.Typer(
    name="guard",
    help="Reasoning protection: input guard against trace coercion, output transforms.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(guard_app, name="guard")


def _open_out(path: Path) -> Any:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("w", encoding="utf-8")
    except OSError as exc:
        raise DistillguardError(f"cannot write {path}: {exc}") from exc


@guard_app.command("check")
def check(
    input: Path = typer.Option(
        ..., "--input", "-i", help="PROMPTS.jsonl: {id, prompt} or {id, messages}"
    ),
    output: Path = typer.Option(..., "--output", "-o", help="VERDICTS.jsonl to write"),
    model: Path | None = typer.Option(None, help="A model file (default: the packaged one)"),
    strict: bool = typer.Option(False, help="Stop at the first malformed line"),
) -> None:
    """Score every prompt; write {id, verdict, score, family} per line."""
    from rich.progress import Progress

    from distillguard.guard.inputguard import InputGuard

    if not input.is_file():
        raise DistillguardError(f"input file not found: {input}")
    guard = InputGuard.from_path(model) if model else InputGuard.default()
    counts = {"block": 0, "flag": 0, "allow": 0}
    bad: list[str] = []
    size = input.stat().st_size
    with input.open("rb") as f, _open_out(output) as out, Progress(transient=True) as prog:
        task = prog.add_task("checking", total=size)
        for lineno, raw in enumerate(f, 1):
            prog.update(task, advance=len(raw))
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
                if not isinstance(obj, dict):
                    raise ValueError("not a JSON object")
                payload = obj.get("messages", obj.get("prompt"))
                if not isinstance(payload, (str, list)):
                    raise ValueError("needs a 'prompt' string or a 'messages' list")
                v = guard.check(payload)
            except (ValueError, DistillguardError) as exc:
                msg = f"line {lineno}: {exc}"
                if strict:
                    raise DistillguardError(msg) from exc
                bad.append(msg)
                continue
            counts[v.verdict] += 1
            rec = {"id": obj.get("id"), "verdict": v.verdict, "score": v.score, "family": v.family}
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
    for msg in bad[:20]:
        typer.echo(f"skipped {msg}", err=True)
    total = sum(counts.values())
    typer.echo(
        f"{total} prompts: {counts['block']} block, {counts['flag']} flag, "
        f"{counts['allow']} allow; {len(bad)} malformed lines skipped -> {output}"
    )


@guard_app.command("train")
def train_cmd(
    output: Path | None = typer.Option(None, help="Where to save (default: the packaged model)"),
    per_family: int = typer.Option(300, help="Generated attack prompts per family"),
    no_shared: bool = typer.Option(False, help="Train on project-written data only"),
) -> None:
    """Train the input guard and calibrate its thresholds (about a minute)."""
    from importlib import resources

    from distillguard.guard import training as T

    dest = output or Path(str(resources.files("distillguard.guard") / "data" / "model.json"))
    corpus = T.load_corpus(per_family, with_shared=not no_shared)
    model, _ = T.train_default(corpus, progress=lambda s: typer.echo(f"  {s}", err=True))
    model.save(dest)
    typer.echo(
        f"saved {dest}: {int((model.ngram_w != 0).sum())} n-gram weights, "
        f"flag >= {model.flag_threshold}, block >= {model.block_threshold}"
    )


@guard_app.command("eval")
def eval_cmd(
    output: Path = typer.Option(Path("guard-eval.json"), help="Full results as JSON"),
    per_family: int = typer.Option(300, help="Generated attack prompts per family"),
    heldout: list[Path] = typer.Option(
        [], help="Held-out attack/benign JSONL files (e.g. bench/guard/data/heldout2.jsonl)"
    ),
) -> None:
    """Leave-one-family-out, benign false alarms, distill sets, leak detector, costs."""
    from distillguard.guard import evaluate

    res = evaluate.run(
        per_family=per_family,
        heldout={p.stem: p for p in heldout},
        progress=lambda s: typer.echo(f"  {s}", err=True),
    )
    with _open_out(output) as f:
        json.dump(res, f, indent=2, ensure_ascii=False)
    typer.echo(evaluate.markdown(res))
    typer.echo(f"full results: {output}")


@guard_app.command("learn-format")
def learn_format_cmd(
    samples: Path = typer.Argument(..., help="JSONL of sample responses or stream chunks"),
    model: str = typer.Option(..., "--model", "-m", help="Upstream model name to store it under"),
    config: Path = typer.Option(
        None, help="Format config (JSON or .toml); default <data_dir>/reasoning_formats.json"
    ),
) -> None:
    """Learn which field or tags a model uses for reasoning and store it in the config."""
    from distillguard.guard.formats import FormatRegistry, learn_format

    path = config or FormatRegistry.default_path()
    if not samples.is_file():
        raise DistillguardError(f"samples file not found: {samples}")
    objs: list[dict[str, Any]] = []
    skipped = 0
    for line in samples.read_text(encoding="utf-8").split("\n"):
        if not line.strip():
            continue
        line = line.strip()
        if line.startswith("data:"):
            line = line[5:].strip()
            if line == "[DONE]":
                continue
        try:
            obj = json.loads(line)
        except ValueError:
            skipped += 1
            continue
        if isinstance(obj, dict):
            objs.append(obj)
    fmt = learn_format(objs)
    reg = FormatRegistry.load(path)
    reg.set(model, fmt)
    reg.save(path)
    typer.echo(
        f"{model}: fields={list(fmt.fields)} tags={list(fmt.tags)} "
        f"implicit_open={fmt.implicit_open} (from {len(objs)} samples, "
        f"{skipped} unreadable lines) -> {path}"
    )
