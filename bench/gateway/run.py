"""Gateway benchmark: direct vs minimal proxy vs distillguard (every check on) vs LiteLLM.

Same stub upstream (own process), same load generator (loadgen.py, own process), same run,
targets interleaved. The minimal proxy runs twice: on aiohttp's client (the floor, and the
headline ratio) and on distillguard's own upstream client (what the client alone buys).
Reports added latency p50/p99 at concurrency 1 (target minus direct; all targets' c=1
rounds first, once the machine is idle again) and maximum throughput at concurrency C,
streaming and not, then the in-process CPU cost of
distillguard's checks (cpu.py). The machine is shared: read the ratios.

    .venv/bin/python bench/gateway/run.py [--quick] [--no-litellm]

LiteLLM is used only if bench/.venv-litellm exists (bench/gateway/install_litellm.sh).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PY = sys.executable
LITELLM = ROOT / "bench" / ".venv-litellm" / "bin" / "litellm"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 60.0, headers: dict[str, str] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            req = urllib.request.Request(url, headers=headers or {})
            urllib.request.urlopen(req, timeout=2).read()
            return
        except Exception as exc:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up: {exc}") from None
            time.sleep(0.2)


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * (len(s) - 1) + 0.5))] if s else float("nan")


N_ACCOUNTS = 400


def write_prompts(path: Path) -> int:
    """Ordinary prompts (shared benign sets when present, else built-in), one per line."""
    from distillguard.paths import shared_data

    out: list[str] = []
    for name in ("alpaca_eval_805.jsonl", "fastchat_vicuna_bench.jsonl"):
        p = shared_data("benign", name)
        if p is not None:
            for line in p.open(encoding="utf-8"):
                t = json.loads(line).get("prompt", "")
                if 0 < len(t) < 1500:
                    out.append(" ".join(t.split()))
    if not out:
        out = ["What is 17 * 23? Explain briefly.", "Write a haiku about autumn rain."]
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return len(out)


def setup_distillguard(home: Path, stub: str) -> tuple[Path, Path]:
    """Tier 1 customers (one org, N_ACCOUNTS accounts, a key each: traffic from many
    customers, as a real gateway sees it) and a config with every check on."""
    os.environ["DISTILLGUARD_HOME"] = str(home)
    from distillguard.identity import IdentityService
    from distillguard.store.db import open_database

    db = open_database(f"sqlite:///{home / 'distillguard.db'}")
    ids = IdentityService(db)
    org = ids.create_org("Bench Corp", "US")
    ids.set_screening_status(org.id, "clear", "bench")
    keys = []
    for i in range(N_ACCOUNTS):
        acct = ids.create_account(
            f"bench{i}", type="organization", org_id=org.id, nationality="US", kyc_level="verified"
        )
        keys.append(ids.issue_key(acct.id)[1])
    db.close()
    keys_file = home / "keys.txt"
    keys_file.write_text("\n".join(keys) + "\n")
    cfg = home / "gateway.toml"
    cfg.write_text(
        f"""
[store]
home = "{home}"
events_jsonl = "{home / "events.jsonl"}"
events_table = true
ledger = true

[rules]
guard = true
detector = true

[quotas]
rpm = 100000000
tpm = 100000000000
concurrency = 100000
org_rpm = 100000000
org_tpm = 100000000000
org_concurrency = 100000

[models."general-chat"]
url = "{stub}/v1"
upstream_model = "stub"
"""
    )
    return cfg, keys_file


def litellm_config(path: Path, stub: str, master_key: str) -> None:
    """Model routed to the stub; a master key (LiteLLM refuses to start without one,
    and distillguard authenticates every request too)."""
    path.write_text(
        f"""model_list:
  - model_name: general-chat
    litellm_params:
      model: openai/stub
      api_base: {stub}/v1
      api_key: sk-bench
litellm_settings:
  drop_params: true
  set_verbose: false
general_settings:
  master_key: {master_key}
"""
    )


PROMPTS: list[Path] = []


def cpu_busy(window: float = 0.5) -> float:
    """Share of the machine's CPU time spent busy over `window` seconds (/proc/stat)."""

    def read() -> tuple[int, int]:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        idle = v[3] + v[4]  # idle + iowait
        return sum(v), idle

    t0, i0 = read()
    time.sleep(window)
    t1, i1 = read()
    return 1.0 - (i1 - i0) / max(1, t1 - t0)


def settle(limit: float = 0.15, timeout: float = 30.0) -> float:
    """Wait until the machine is idle again (busy share under `limit` over half a second),
    at most `timeout` seconds; returns the seconds waited."""
    t0 = time.monotonic()
    while cpu_busy() > limit and time.monotonic() - t0 < timeout:
        pass
    return time.monotonic() - t0


def loadgen(url: str, key: str, *, stream: bool, conc: int, count: int = 0, dur: float = 0) -> Any:
    cmd = [PY, str(HERE / "loadgen.py"), url, "--model", "general-chat", "--concurrency", str(conc)]
    cmd += ["--duration", str(dur)] if dur else ["--count", str(count)]
    cmd += ["--prompts-file", str(PROMPTS[0])]
    if key.endswith(".txt"):
        cmd += ["--keys-file", key]
    elif key:
        cmd += ["--key", key]
    if stream:
        cmd.append("--stream")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=600)
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer requests (smoke run)")
    ap.add_argument("--no-litellm", action="store_true")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--duration", type=float, default=6.0, help="throughput seconds per target")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds per mode")
    a = ap.parse_args()
    n_lat = 200 if a.quick else 1000
    dur = 2.0 if a.quick else a.duration
    procs: list[subprocess.Popen[bytes]] = []
    tmp = Path(tempfile.mkdtemp(prefix="dg-bench-"))
    env = {**os.environ, "DISTILLGUARD_HOME": str(tmp)}
    try:
        sp = free_port()
        stub = f"http://127.0.0.1:{sp}"
        procs.append(
            subprocess.Popen([PY, "-m", "distillguard.gateway.stub", "--port", str(sp)], env=env)
        )
        wait_http(stub + "/stub/stats")
        targets: dict[str, tuple[str, str]] = {"direct": (stub + "/v1/chat/completions", "")}

        mp = free_port()
        procs.append(subprocess.Popen([PY, str(HERE / "minimal_proxy.py"), str(mp), stub + "/v1"]))
        targets["minimal proxy"] = (f"http://127.0.0.1:{mp}/v1/chat/completions", "")
        # The same few lines on distillguard's own upstream client instead of aiohttp's:
        # what the client alone is worth (the headline ratio stays against the row above).
        mp2 = free_port()
        procs.append(
            subprocess.Popen([PY, str(HERE / "minimal_proxy.py"), str(mp2), stub + "/v1", "dg"])
        )
        targets["minimal proxy, dg client"] = (f"http://127.0.0.1:{mp2}/v1/chat/completions", "")

        PROMPTS.append(tmp / "prompts.txt")
        n_prompts = write_prompts(PROMPTS[0])
        print(f"{n_prompts} distinct prompts; distillguard: {N_ACCOUNTS} accounts", flush=True)
        cfg, keys_file = setup_distillguard(tmp, stub)
        key = str(keys_file)
        dg = ROOT / ".venv" / "bin" / "distillguard"
        # detector and ledger in their worker process (the recommended production setting)
        env = {**env, "DISTILLGUARD_STORE_CONSUMERS": "process"}

        def gateway(name: str, log: str, **extra: str) -> None:
            port = free_port()
            procs.append(
                subprocess.Popen(
                    [str(dg), "serve", "--config", str(cfg), "--port", str(port)],
                    env={**env, **extra},
                    stderr=open(tmp / log, "wb"),  # noqa: SIM115
                )
            )
            targets[name] = (f"http://127.0.0.1:{port}/v1/chat/completions", key)

        def own_files(folder: str) -> dict[str, str]:
            """Same accounts, its own ledger and event file (one writer per ledger)."""
            return {
                "DISTILLGUARD_STORE_DATABASE_URL": f"sqlite:///{tmp / 'distillguard.db'}",
                "DISTILLGUARD_STORE_HOME": str(tmp / folder),
                "DISTILLGUARD_STORE_EVENTS_JSONL": str(tmp / folder / "events.jsonl"),
            }

        gateway("distillguard", "gateway.log")
        # The same gateway without the input guard: shows what the guard's CPU costs.
        gateway(
            "distillguard, guard off",
            "gateway-noguard.log",
            DISTILLGUARD_RULES_GUARD="false",
            **own_files("noguard"),
        )
        # Every check on in ONE process (detector and ledger in a thread of the gateway,
        # `consumers = "thread"`): the same process count as the minimal proxy.
        gateway(
            "distillguard, one process",
            "gateway-oneproc.log",
            DISTILLGUARD_STORE_CONSUMERS="thread",
            **own_files("oneproc"),
        )

        use_litellm = LITELLM.exists() and not a.no_litellm
        if use_litellm:
            lp = free_port()
            lcfg = tmp / "litellm.yaml"
            mkey = "sk-" + secrets.token_hex(32)
            litellm_config(lcfg, stub, mkey)
            lenv = {**os.environ, "LITELLM_LOG": "ERROR", "LITELLM_TELEMETRY": "False"}
            procs.append(
                subprocess.Popen(
                    [str(LITELLM), "--config", str(lcfg), "--port", str(lp), "--num_workers", "1"],
                    env=lenv,
                    stdout=open(tmp / "litellm.log", "wb"),  # noqa: SIM115
                    stderr=subprocess.STDOUT,
                )
            )
            targets["LiteLLM proxy"] = (f"http://127.0.0.1:{lp}/v1/chat/completions", mkey)
        for name, (url, k) in targets.items():
            base = url.rsplit("/v1/", 1)[0]
            if name == "LiteLLM proxy":
                wait_http(base + "/health/liveliness", timeout=180)
            elif name.startswith("distillguard"):
                wait_http(base + "/readyz")
            # warm-up (connections, caches, JIT-free but lazy imports)
            loadgen(url, k, stream=False, conc=4, count=100)
            loadgen(url, k, stream=True, conc=4, count=50)

        # Rounds, target order rotated each round: the machine's load drifts within a run,
        # so every target gets measured early and late.
        results: dict[str, dict[str, Any]] = {}
        names = list(targets)
        settled: list[float] = []
        for stream in (False, True):
            mode = "stream" if stream else "json"
            lat_ms: dict[str, list[float]] = {n: [] for n in names}
            own_ms: dict[str, list[float]] = {n: [] for n in names}
            ok = dict.fromkeys(names, 0)
            elapsed = dict.fromkeys(names, 0.0)
            statuses: dict[str, dict[str, int]] = {n: {} for n in names}
            # Latency at low load first, every target in rotated rounds, on a machine idle
            # again (a previous phase at c=32 leaves detector and ledger work queued in
            # the gateways' workers: measured under that, c=1 is not "low load"); then
            # throughput, in the same rotated rounds.
            settled.append(settle())
            for rnd in range(a.rounds):
                for name in names[rnd % len(names) :] + names[: rnd % len(names)]:
                    url, k = targets[name]
                    n = (n_lat // 5 if name == "LiteLLM proxy" else n_lat) // a.rounds
                    lat = loadgen(url, k, stream=stream, conc=1, count=n)
                    lat_ms[name] += lat["latencies_ms"]
                    own_ms[name] += lat.get("overhead_ms", [])
            for rnd in range(a.rounds):
                for name in names[rnd % len(names) :] + names[: rnd % len(names)]:
                    url, k = targets[name]
                    t = loadgen(url, k, stream=stream, conc=a.concurrency, dur=dur / a.rounds)
                    ok[name] += t["statuses"].get("200", 0)
                    elapsed[name] += t["elapsed_s"]
                    for st, c in t["statuses"].items():
                        statuses[name][st] = statuses[name].get(st, 0) + c
            for name in names:
                r = results.setdefault(name, {})[mode] = {
                    "p50_ms": pct(lat_ms[name], 0.5),
                    "p99_ms": pct(lat_ms[name], 0.99),
                    "rps": ok[name] / elapsed[name],
                    "tput_statuses": statuses[name],
                    # the gateway's own time per request (x-distillguard-overhead-ms: in
                    # the handler, minus the upstream wait; a stream's up to its headers)
                    "own_p50_ms": pct(own_ms[name], 0.5),
                    "own_p99_ms": pct(own_ms[name], 0.99),
                }
                r["settle_s"] = settled[-1]  # waited for an idle machine before c=1
                print(
                    f"{mode:6} {name:24} p50 {r['p50_ms']:.3f} ms  p99 {r['p99_ms']:.3f} ms  "
                    f"{r['rps']:.0f} req/s  {r['tput_statuses']}",
                    flush=True,
                )
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    print()
    waits = ", ".join(f"{x:.1f}" for x in settled)
    print(f"c=1 phases started after waiting {waits} s for an idle machine")
    print(table(results, a.concurrency))
    print()
    cpu = subprocess.run([PY, str(HERE / "cpu.py")], capture_output=True, text=True, env=env)
    print(cpu.stdout or cpu.stderr)


def table(res: dict[str, dict[str, Any]], conc: int) -> str:
    lines = [
        f"| target | mode | p50 ms | p99 ms | added p50 ms | added p99 ms | req/s at c={conc} "
        "| vs minimal proxy |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for mode in ("json", "stream"):
        d = res["direct"][mode]
        m = res["minimal proxy"][mode]
        for name, modes in res.items():
            r = modes[mode]
            add50 = r["p50_ms"] - d["p50_ms"]
            add99 = r["p99_ms"] - d["p99_ms"]
            rel = r["rps"] / m["rps"] if m["rps"] else float("nan")
            lines.append(
                f"| {name} | {mode} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
                f"{'-' if name == 'direct' else f'{add50:+.2f}'} | "
                f"{'-' if name == 'direct' else f'{add99:+.2f}'} | {r['rps']:.0f} | {rel:.2f} |"
            )
    own = [
        "",
        "distillguard's own time at c=1 (x-distillguard-overhead-ms; for a stream, up to its"
        " headers):",
        "",
        "| target | mode | own p50 ms | own p99 ms |",
        "|---|---|---:|---:|",
    ]
    for mode in ("json", "stream"):
        for name, modes in res.items():
            r = modes[mode]
            if r["own_p50_ms"] == r["own_p50_ms"]:  # not NaN: the target sends the header
                own.append(f"| {name} | {mode} | {r['own_p50_ms']:.2f} | {r['own_p99_ms']:.2f} |")
    return "\n".join(lines + own)


if __name__ == "__main__":
    main()
