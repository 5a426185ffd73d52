"""Admin HTTP routes for the report inputs (issue 9: "CLI and admin API to record them").

Why here: the facts the BIS, SB 53 and EU reports need (clusters, red-team results, the
organisation profile, the frontier AI framework, planned runs, model documentation facts)
are often kept by a compliance system, not typed at a shell. These routes call the same
`ReportsStore` methods as `distillguard reports inputs ...` (no second implementation), and
`GET /reports/due` the same `clocks.due_items` as `distillguard reports due`. Auth, body
validation against `admin_openapi.yaml` and OpenAI-style errors are the admin app's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from distillguard.errors import DistillguardError
from distillguard.reports.store import MODEL_FACTS, ReportsStore
from distillguard.reports.timeutil import parse_time
from distillguard.rules.reference import Reference
from distillguard.store import Database

if TYPE_CHECKING:
    from distillguard.gateway.admin import Call


@dataclass(frozen=True, slots=True)
class ReportsContext:
    """What the report routes need: the database the reports part records into, and the
    live rule pack's reference data (incident clocks, thresholds) for `/reports/due`."""

    db: Database
    reference: Callable[[], Reference]


ReportsHandler = Callable[[ReportsContext, "Call"], tuple[int, Any]]


def _time(value: str, what: str) -> datetime:
    """An RFC 3339 time with an offset (a naive time is refused, as on the CLI)."""
    try:
        return parse_time(value)
    except DistillguardError as exc:
        raise DistillguardError(f"{what}: {exc}") from None


def _store(ctx: ReportsContext) -> ReportsStore:
    return ReportsStore(ctx.db)


def _add_cluster(ctx: ReportsContext, c: Call) -> tuple[int, Any]:
    b = dict(c.body)
    store = _store(ctx)
    store.add_cluster(b.pop("name"), **b)
    return 201, next(r for r in store.clusters() if r["name"] == c.body["name"].strip())


def _add_evaluation(ctx: ReportsContext, c: Call) -> tuple[int, Any]:
    b = dict(c.body)
    b["performed_at"] = _time(b["performed_at"], "performed_at")
    store = _store(ctx)
    eid = store.add_evaluation(b.pop("model"), **b)
    return 201, next(r for r in store.evaluations(c.body["model"]) if r["id"] == eid)


def _set_profile(ctx: ReportsContext, c: Call) -> tuple[int, Any]:
    return 200, _store(ctx).set_profile(**c.body)


def _add_framework(ctx: ReportsContext, c: Call) -> tuple[int, Any]:
    b = dict(c.body)
    b["published_at"] = _time(b["published_at"], "published_at")
    if b.get("review_due") is not None:
        b["review_due"] = _time(b["review_due"], "review_due")
    store = _store(ctx)
    fid = store.add_framework(b.pop("version"), **b)
    return 201, next(r for r in store.frameworks() if r["id"] == fid)


def _add_plan(ctx: ReportsContext, c: Call) -> tuple[int, Any]:
    b = c.body
    store = _store(ctx)
    pid = store.add_planned_run(
        b["model"],
        planned_start=_time(b["planned_start"], "planned_start"),
        expected_ops=b["expected_ops"],
        cluster=b.get("cluster"),
    )
    return 201, next(r for r in store.planned_runs() if r["id"] == pid)


def _facts_view(store: ReportsStore, model: str) -> dict[str, Any]:
    facts = store.model_facts(model)
    return {
        "model": model,
        "facts": facts,
        "absent": [k for k in MODEL_FACTS if k not in facts],
    }


def _set_facts(ctx: ReportsContext, c: Call) -> tuple[int, Any]:
    store = _store(ctx)
    model = c.path["model"]
    for key, value in c.body["facts"].items():  # keys and values checked by the store
        store.set_model_fact(model, key, value)
    return 200, _facts_view(store, model)


def _due(ctx: ReportsContext, c: Call) -> tuple[int, Any]:
    from distillguard.reports.clocks import due_items

    raw = c.query.get("at")
    now = _time(raw, "at") if raw else datetime.now(UTC)
    items = due_items(ctx.db, ctx.reference(), now)
    data = [d.to_dict(now) for d in items]
    overdue = sum(d["status"] == "overdue" for d in data)
    return 200, {"at": now.isoformat(), "overdue": overdue, "data": data}


def _list(rows: list[dict[str, Any]]) -> tuple[int, Any]:
    return 200, {"data": rows}


# (method, path, operationId, handler); paths are relative to the /admin mount.
ROUTES: list[tuple[str, str, str, ReportsHandler]] = [
    ("GET", "/reports/clusters", "listReportClusters",
     lambda ctx, c: _list(_store(ctx).clusters())),
    ("POST", "/reports/clusters", "addReportCluster", _add_cluster),
    ("GET", "/reports/evaluations", "listReportEvaluations",
     lambda ctx, c: _list(_store(ctx).evaluations(c.query.get("model")))),
    ("POST", "/reports/evaluations", "addReportEvaluation", _add_evaluation),
    ("GET", "/reports/profile", "getReportProfile", lambda ctx, c: (200, _store(ctx).profile())),
    ("PATCH", "/reports/profile", "setReportProfile", _set_profile),
    ("GET", "/reports/frameworks", "listReportFrameworks",
     lambda ctx, c: _list(_store(ctx).frameworks())),
    ("POST", "/reports/frameworks", "addReportFramework", _add_framework),
    ("GET", "/reports/plans", "listReportPlans", lambda ctx, c: _list(_store(ctx).planned_runs())),
    ("POST", "/reports/plans", "addReportPlan", _add_plan),
    ("GET", "/reports/model-facts/{model}", "getReportModelFacts",
     lambda ctx, c: (200, _facts_view(_store(ctx), c.path["model"]))),
    ("PATCH", "/reports/model-facts/{model}", "setReportModelFacts", _set_facts),
    ("GET", "/reports/due", "listReportsDue", _due),
]  # fmt: skip
