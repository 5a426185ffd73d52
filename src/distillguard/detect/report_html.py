"""Self-contained HTML report of a scan, for a reviewer deciding what to do about accounts.

Why this layout: a reviewer starts from campaigns (the unit of action), needs to see who
is in them and what they share, then checks single accounts: the score over time (when
did it turn, how fast), the reasons in words and a few example prompts. Everything is in
one file (plots as inline PNG), every prompt is HTML-escaped, and nothing is fetched.
"""

from __future__ import annotations

import base64
import html
import io
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from distillguard.detect.offline import ScanResult

MAX_ACCOUNTS = 60  # account cards in the report
MAX_MEMBERS = 40  # member names listed per campaign
PLOT_ACCOUNTS = 12

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:22px}h2{font-size:18px;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ddd;padding:4px 6px;
vertical-align:top;text-align:left}th{background:#f4f4f4}.distillation{color:#b00020;
font-weight:600}.suspicious{color:#b26a00;font-weight:600}.benign{color:#2e7d32}
pre{white-space:pre-wrap;background:#f8f8f8;padding:6px;margin:4px 0;font-size:12px}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 12px;margin:10px 0}
.small{color:#666;font-size:12px}
"""


def _e(s: object) -> str:
    return html.escape(str(s), quote=True)


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode()


def _timeline_plot(res: ScanResult, accounts: list[str]) -> str | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    series = [(a, res.timelines[a].points) for a in accounts if a in res.timelines]
    series = [(a, p) for a, p in series if p]
    if not series:
        return None
    fig, ax = plt.subplots(figsize=(11, 4))
    for a, pts in series:
        xs: Any = [datetime.fromtimestamp(t, UTC) for t, _, _ in pts]
        ax.plot(xs, [s for _, s, _ in pts], drawstyle="steps-post", lw=1.2, label=a[:24])
    th = res.detector.thresholds
    ax.axhline(th.distillation, color="#b00020", ls="--", lw=0.8)
    ax.axhline(th.suspicious, color="#b26a00", ls=":", lw=0.8)
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("score (as the online detector saw it)")
    fmt: Any = mdates.DateFormatter  # untyped in matplotlib's stubs
    ax.xaxis.set_major_formatter(fmt("%m-%d %H:%M"))
    ax.legend(fontsize=7, ncol=3, loc="lower right")
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    out = _png(fig)
    plt.close(fig)
    return out


def render(res: ScanResult, title: str = "distillguard detection report") -> str:
    """The full HTML page."""
    rep = res.report
    inp = rep["input"]
    verdicts = Counter(a["verdict"] for a in rep["accounts"])
    flagged = [a for a in rep["accounts"] if a["verdict"] != "benign"][:MAX_ACCOUNTS]
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{_e(title)}</title>",
        f"<style>{_CSS}</style></head><body><h1>{_e(title)}</h1>",
        f"<p>{inp['requests']:,} requests from {inp['accounts']:,} accounts; "
        f"{inp['skipped_lines']:,} malformed lines skipped; "
        f"{rep['diagnostics']['out_of_order']:,} out-of-order timestamps. Verdicts: "
        + ", ".join(
            f"<span class='{v}'>{verdicts.get(v, 0):,} {v}</span>"
            for v in ("distillation", "suspicious", "benign")
        )
        + ". Verdicts are causal: what the streaming detector said with the traffic seen "
        "so far.</p>",
        f"<h2>Campaigns ({len(rep['campaigns'])})</h2>",
    ]
    if not rep["campaigns"]:
        parts.append("<p>No campaigns: no group of accounts shares harvesting evidence.</p>")
    else:
        acct = {a["account"]: a for a in rep["accounts"]}
        parts.append(
            "<table><tr><th>campaign</th><th>accounts</th><th>requests</th>"
            "<th>shared evidence</th><th>members (verdict)</th></tr>"
        )
        for c in rep["campaigns"]:
            mem = ", ".join(
                f"<span class='{acct[m]['verdict']}'>{_e(m)}</span>"
                for m in c["accounts"][:MAX_MEMBERS]
                if m in acct
            )
            more = len(c["accounts"]) - MAX_MEMBERS
            if more > 0:
                mem += f" <span class='small'>and {more} more</span>"
            reasons = "<br>".join(_e(r) for r in c["reasons"])
            parts.append(
                f"<tr><td>{_e(c['id'])}</td><td>{len(c['accounts'])}</td>"
                f"<td>{c['requests']:,}</td><td>{reasons}</td><td>{mem}</td></tr>"
            )
        parts.append("</table>")
    plot = _timeline_plot(res, [a["account"] for a in flagged[:PLOT_ACCOUNTS]])
    parts.append("<h2>Score over time (highest-scoring accounts)</h2>")
    if plot:
        parts.append(f"<img alt='score timeline' src='data:image/png;base64,{plot}'>")
    else:
        parts.append("<p>No flagged accounts to plot.</p>")
    parts.append(f"<h2>Flagged accounts ({len(flagged)} shown)</h2>")
    for a in flagged:
        st = res.detector.states.get(a["account"])
        ex = "".join(f"<pre>{_e(x)}</pre>" for x in (st.examples if st else []))
        reasons = "".join(f"<li>{_e(r)}</li>" for r in a["reasons"])
        parts.append(
            f"<div class='card'><b>{_e(a['account'])}</b> "
            f"<span class='{a['verdict']}'>{a['verdict']}</span> score {a['score']:.3f}, "
            f"{a['requests']:,} requests, first flagged {_e(a['first_flagged_at'] or '-')}"
            f", campaign {_e(a['campaign'] or '-')}<ul>{reasons}</ul>"
            f"<div class='small'>example prompts:</div>{ex}</div>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)
