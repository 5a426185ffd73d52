"""The reports part's records: incidents, filings, report inputs and generated reports.

Why a store of its own: the reports need facts no other part holds (clusters, red-team
results, the organisation profile, the frontier AI framework, planned training runs) and
must remember what was filed when (a missed 24-hour clock is a violation; a BIS "no change"
notice needs the last filed one). Tables are prefixed `rp_` in the shared
`distillguard.store.Database`; rows are never deleted (closing an incident keeps it).
Times are stored as RFC 3339 UTC strings.
"""

from __future__ import annotations

import json
import math
import uuid
from datetime import UTC, datetime
from typing import Any

from distillguard.errors import DistillguardError
from distillguard.reports.timeutil import iso, parse_time
from distillguard.store import Database

SOURCES = ("weights", "detect", "manual")
CAPABILITY_AREAS = (
    "cbrn",
    "offensive_cyber",
    "autonomy",
    "loss_of_control",
    "persuasion",
    "critical_infrastructure",
    "other",
)

SCHEMA = [
    """CREATE TABLE rp_incidents (id TEXT PRIMARY KEY, kind TEXT NOT NULL, title TEXT NOT NULL,
       discovered_at TEXT NOT NULL, imminent INTEGER NOT NULL, source TEXT NOT NULL,
       reference TEXT, detail TEXT NOT NULL, status TEXT NOT NULL, opened_at TEXT NOT NULL,
       opened_by TEXT NOT NULL, closed_at TEXT, close_note TEXT)""",
    """CREATE TABLE rp_filings (id INTEGER PRIMARY KEY AUTOINCREMENT, incident_id TEXT NOT NULL
       REFERENCES rp_incidents(id), regime TEXT NOT NULL, event TEXT NOT NULL,
       filed_at TEXT NOT NULL, report_id TEXT, filed_by TEXT NOT NULL)""",
    """CREATE TABLE rp_clusters (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE,
       location TEXT NOT NULL, country TEXT, accelerator TEXT NOT NULL,
       accelerator_count INTEGER NOT NULL, interconnect_gbps REAL NOT NULL,
       peak_ops_per_s REAL NOT NULL, owner TEXT, status TEXT NOT NULL,
       recorded_at TEXT NOT NULL)""",
    """CREATE TABLE rp_evaluations (id TEXT PRIMARY KEY, model TEXT NOT NULL, version TEXT,
       area TEXT NOT NULL, method TEXT NOT NULL, result TEXT NOT NULL, mitigations TEXT,
       evaluator TEXT, performed_at TEXT NOT NULL, recorded_at TEXT NOT NULL)""",
    """CREATE TABLE rp_org_profile (id INTEGER PRIMARY KEY AUTOINCREMENT, profile TEXT NOT NULL,
       recorded_at TEXT NOT NULL)""",
    """CREATE TABLE rp_frameworks (id TEXT PRIMARY KEY, version TEXT NOT NULL UNIQUE,
       title TEXT NOT NULL, published_at TEXT NOT NULL, review_due TEXT NOT NULL, url TEXT,
       sha256 TEXT, summary TEXT, recorded_at TEXT NOT NULL)""",
    """CREATE TABLE rp_planned_runs (id TEXT PRIMARY KEY, model TEXT NOT NULL,
       planned_start TEXT NOT NULL, expected_ops REAL NOT NULL, cluster TEXT,
       status TEXT NOT NULL, recorded_at TEXT NOT NULL)""",
    """CREATE TABLE rp_reports (id TEXT PRIMARY KEY, kind TEXT NOT NULL, subject TEXT,
       created_at TEXT NOT NULL, sha256 TEXT NOT NULL, signature TEXT NOT NULL,
       key_id TEXT NOT NULL, ledger_index INTEGER, filed_at TEXT, document TEXT NOT NULL)""",
    """CREATE TABLE rp_model_facts (id INTEGER PRIMARY KEY AUTOINCREMENT, model TEXT NOT NULL,
       key TEXT NOT NULL, value TEXT NOT NULL, recorded_at TEXT NOT NULL)""",
]

# Documentation facts about a model that no other part holds (SB 53 transparency report,
# EU Annex XI / Model Documentation Form). Free text; the builders declare absent ones.
MODEL_FACTS = (
    "release_date",
    "distribution",
    "languages",
    "modalities_input",
    "modalities_output",
    "intended_uses",
    "restrictions",
    "acceptable_use_policy",
    "integration_types",
    "architecture",
    "licence",
    "training_method",
    "data_provenance",
    "data_curation",
    "training_time",
    "energy_kwh",
    "website",
    "internal_use",
)

PROFILE_FIELDS = (
    "name",
    "legal_name",
    "country",
    "us_person",
    "revenue_usd",
    "revenue_year",
    "contacts",
    "website",
    "security_physical",
    "security_cyber",
)


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


def _finite(x: float, what: str, *, positive: bool = True) -> float:
    if not math.isfinite(x) or (positive and x <= 0) or x < 0:
        raise DistillguardError(f"{what} must be a finite number {'> 0' if positive else '>= 0'}")
    return float(x)


def _text(v: str | None, what: str) -> str:
    if v is None or not v.strip():
        raise DistillguardError(f"{what} must not be empty")
    return v.strip()


def _country(v: Any, what: str) -> str | None:
    """An ISO 3166-1 alpha-2 code (case-insensitive input) or None; reports name places by it."""
    from distillguard.countries import country_hint, is_country

    if v is None or v == "":
        return None
    code = str(v).strip().upper()
    if not is_country(code):
        raise DistillguardError(
            f"{what}: {v!r} is not an ISO 3166-1 alpha-2 country code{country_hint(str(v))}"
        )
    return code


class ReportsStore:
    """Typed access to the rp_ tables; every write is one statement or one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.migrate("reports", SCHEMA)

    # -- incidents ------------------------------------------------------------------------
    def open_incident(
        self,
        kind: str,
        discovered_at: datetime,
        *,
        title: str | None = None,
        imminent: bool = False,
        source: str = "manual",
        reference: str | None = None,
        detail: dict[str, Any] | None = None,
        opened_by: str = "cli",
    ) -> str:
        if source not in SOURCES:
            raise DistillguardError(
                f"unknown incident source {source!r} (use {', '.join(SOURCES)})"
            )
        if discovered_at.tzinfo is None:
            raise DistillguardError("discovery time needs a timezone")
        if source != "manual" and reference:
            dup = self.db.query_one(
                "SELECT id FROM rp_incidents WHERE source = ? AND reference = ? AND kind = ?",
                (source, reference, kind),
            )
            if dup:  # importing the same weights incident or campaign twice is idempotent
                return str(dup["id"])
        iid = new_id("inc")
        self.db.execute(
            "INSERT INTO rp_incidents (id, kind, title, discovered_at, imminent, source, "
            "reference, detail, status, opened_at, opened_by) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)",
            (
                iid,
                kind,
                title or kind.replace("_", " "),
                iso(discovered_at),
                int(imminent),
                source,
                reference,
                json.dumps(detail or {}, sort_keys=True),
                iso(datetime.now(UTC)),
                opened_by,
            ),
        )
        return iid

    def update_incident_detail(self, iid: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Merge report facts (statement, harm, root cause, ...) into an incident's detail."""
        detail = {**self.incident(iid)["detail"], **changes}
        self.db.execute(
            "UPDATE rp_incidents SET detail = ? WHERE id = ?",
            (json.dumps(detail, sort_keys=True), iid),
        )
        return detail

    def incident(self, iid: str) -> dict[str, Any]:
        row = self.db.query_one("SELECT * FROM rp_incidents WHERE id = ?", (iid,))
        if row is None:
            raise DistillguardError(f"no incident {iid!r}")
        return _incident_row(row)

    def incidents(self, *, status: str | None = None) -> list[dict[str, Any]]:
        if status is None:
            rows = self.db.query("SELECT * FROM rp_incidents ORDER BY discovered_at, id")
        else:
            rows = self.db.query(
                "SELECT * FROM rp_incidents WHERE status = ? ORDER BY discovered_at, id", (status,)
            )
        return [_incident_row(r) for r in rows]

    def close_incident(self, iid: str, note: str, at: datetime | None = None) -> None:
        inc = self.incident(iid)
        if inc["status"] == "closed":
            raise DistillguardError(f"incident {iid} is already closed")
        self.db.execute(
            "UPDATE rp_incidents SET status = 'closed', closed_at = ?, close_note = ? WHERE id = ?",
            (iso(at or datetime.now(UTC)), _text(note, "a closing note"), iid),
        )

    def file(
        self,
        iid: str,
        regime: str,
        event: str,
        *,
        at: datetime | None = None,
        report_id: str | None = None,
        by: str = "cli",
    ) -> None:
        """Record that the report for clock regime/event of an incident was filed."""
        self.incident(iid)
        self.db.execute(
            "INSERT INTO rp_filings (incident_id, regime, event, filed_at, report_id, filed_by) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (iid, regime, event, iso(at or datetime.now(UTC)), report_id, by),
        )

    def filings(self, iid: str | None = None) -> list[dict[str, Any]]:
        if iid is None:
            return self.db.query("SELECT * FROM rp_filings ORDER BY filed_at, id")
        return self.db.query(
            "SELECT * FROM rp_filings WHERE incident_id = ? ORDER BY filed_at, id", (iid,)
        )

    # -- clusters -------------------------------------------------------------------------
    def add_cluster(
        self,
        name: str,
        *,
        location: str,
        accelerator: str,
        accelerator_count: int,
        interconnect_gbps: float,
        peak_ops_per_s: float,
        country: str | None = None,
        owner: str | None = None,
    ) -> str:
        if accelerator_count <= 0:
            raise DistillguardError("accelerator count must be > 0")
        if self.db.query_one("SELECT id FROM rp_clusters WHERE name = ?", (name,)):
            raise DistillguardError(f"cluster {name!r} already exists")
        cid = new_id("clu")
        self.db.execute(
            "INSERT INTO rp_clusters (id, name, location, country, accelerator, accelerator_count, "
            "interconnect_gbps, peak_ops_per_s, owner, status, recorded_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?)",
            (
                cid,
                _text(name, "cluster name"),
                _text(location, "location"),
                _country(country, "cluster country"),
                _text(accelerator, "accelerator"),
                int(accelerator_count),
                _finite(interconnect_gbps, "interconnect Gbit/s"),
                _finite(peak_ops_per_s, "peak operations/s"),
                owner,
                iso(datetime.now(UTC)),
            ),
        )
        return cid

    def clusters(self) -> list[dict[str, Any]]:
        return self.db.query("SELECT * FROM rp_clusters WHERE status = 'active' ORDER BY name")

    # -- evaluations ----------------------------------------------------------------------
    def add_evaluation(
        self,
        model: str,
        *,
        area: str,
        method: str,
        result: str,
        performed_at: datetime,
        version: str | None = None,
        mitigations: str | None = None,
        evaluator: str | None = None,
    ) -> str:
        if area not in CAPABILITY_AREAS:
            raise DistillguardError(
                f"unknown capability area {area!r} (use {', '.join(CAPABILITY_AREAS)})"
            )
        eid = new_id("evl")
        self.db.execute(
            "INSERT INTO rp_evaluations (id, model, version, area, method, result, mitigations, "
            "evaluator, performed_at, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                eid,
                _text(model, "model"),
                version,
                area,
                _text(method, "method"),
                _text(result, "result"),
                mitigations,
                evaluator,
                iso(performed_at),
                iso(datetime.now(UTC)),
            ),
        )
        return eid

    def evaluations(self, model: str | None = None) -> list[dict[str, Any]]:
        if model is None:
            return self.db.query("SELECT * FROM rp_evaluations ORDER BY model, performed_at, id")
        return self.db.query(
            "SELECT * FROM rp_evaluations WHERE model = ? ORDER BY performed_at, id", (model,)
        )

    # -- organisation profile -------------------------------------------------------------
    def set_profile(self, **changes: Any) -> dict[str, Any]:
        """Merge changes into the profile; each change is a new row (history is kept)."""
        unknown = set(changes) - set(PROFILE_FIELDS)
        if unknown:
            raise DistillguardError(f"unknown profile fields: {', '.join(sorted(unknown))}")
        prof = self.profile()
        for k, v in changes.items():
            if v is None:
                continue
            if k == "country":
                v = _country(v, "profile country")
            if k == "revenue_usd":
                v = _finite(float(v), "revenue", positive=False)
            if k == "contacts" and (
                not isinstance(v, list) or not all(isinstance(c, dict) for c in v)
            ):
                raise DistillguardError("contacts must be a list of {role, name, email}")
            prof[k] = v
        self.db.execute(
            "INSERT INTO rp_org_profile (profile, recorded_at) VALUES (?, ?)",
            (json.dumps(prof, sort_keys=True), iso(datetime.now(UTC))),
        )
        return prof

    def profile(self) -> dict[str, Any]:
        row = self.db.query_one("SELECT profile FROM rp_org_profile ORDER BY id DESC LIMIT 1")
        return dict(json.loads(row["profile"])) if row else {}

    # -- frontier AI framework ------------------------------------------------------------
    def add_framework(
        self,
        version: str,
        *,
        title: str,
        published_at: datetime,
        review_due: datetime | None = None,
        url: str | None = None,
        sha256: str | None = None,
        summary: str | None = None,
    ) -> str:
        if self.db.query_one("SELECT id FROM rp_frameworks WHERE version = ?", (version,)):
            raise DistillguardError(f"framework version {version!r} already recorded")
        due = review_due or published_at.replace(year=published_at.year + 1)
        if due <= published_at:
            raise DistillguardError("the review date must be after the publication date")
        fid = new_id("fwk")
        self.db.execute(
            "INSERT INTO rp_frameworks (id, version, title, published_at, review_due, url, sha256, "
            "summary, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                fid,
                _text(version, "version"),
                _text(title, "title"),
                iso(published_at),
                iso(due),
                url,
                sha256,
                summary,
                iso(datetime.now(UTC)),
            ),
        )
        return fid

    def frameworks(self) -> list[dict[str, Any]]:
        return self.db.query("SELECT * FROM rp_frameworks ORDER BY published_at, version")

    # -- planned training runs ------------------------------------------------------------
    def add_planned_run(
        self, model: str, *, planned_start: datetime, expected_ops: float, cluster: str | None
    ) -> str:
        pid = new_id("run")
        self.db.execute(
            "INSERT INTO rp_planned_runs (id, model, planned_start, expected_ops, cluster, status, "
            "recorded_at) VALUES (?, ?, ?, ?, ?, 'planned', ?)",
            (
                pid,
                _text(model, "model"),
                iso(planned_start),
                _finite(expected_ops, "expected operations"),
                cluster,
                iso(datetime.now(UTC)),
            ),
        )
        return pid

    def planned_runs(self) -> list[dict[str, Any]]:
        return self.db.query(
            "SELECT * FROM rp_planned_runs WHERE status = 'planned' ORDER BY planned_start"
        )

    # -- model documentation facts -------------------------------------------------------
    def set_model_fact(self, model: str, key: str, value: str) -> None:
        if key not in MODEL_FACTS:
            raise DistillguardError(f"unknown model fact {key!r} (use {', '.join(MODEL_FACTS)})")
        self.db.execute(
            "INSERT INTO rp_model_facts (model, key, value, recorded_at) VALUES (?, ?, ?, ?)",
            (_text(model, "model"), key, _text(value, key), iso(datetime.now(UTC))),
        )

    def model_facts(self, model: str) -> dict[str, str]:
        """The latest value of each fact recorded for `model`."""
        rows = self.db.query(
            "SELECT key, value FROM rp_model_facts WHERE model = ? ORDER BY id", (model,)
        )
        return {str(r["key"]): str(r["value"]) for r in rows}

    # -- generated reports ----------------------------------------------------------------
    def add_report(self, row: dict[str, Any]) -> None:
        cols = (
            "id",
            "kind",
            "subject",
            "created_at",
            "sha256",
            "signature",
            "key_id",
            "ledger_index",
            "filed_at",
            "document",
        )
        self.db.execute(
            f"INSERT INTO rp_reports ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
            tuple(row.get(c) for c in cols),
        )

    def mark_filed(self, report_id: str, at: datetime | None = None) -> None:
        if not self.db.execute(
            "UPDATE rp_reports SET filed_at = ? WHERE id = ?",
            (iso(at or datetime.now(UTC)), report_id),
        ):
            raise DistillguardError(f"no report {report_id!r}")

    def reports(self, kind: str | None = None, *, filed_only: bool = False) -> list[dict[str, Any]]:
        sql = "SELECT * FROM rp_reports WHERE 1 = 1"
        params: list[Any] = []
        if kind is not None:
            sql += " AND kind = ?"
            params.append(kind)
        if filed_only:
            sql += " AND filed_at IS NOT NULL"
        rows = self.db.query(sql + " ORDER BY created_at, id", params)
        for r in rows:
            r["document"] = json.loads(r["document"])
        return rows


def _incident_row(r: dict[str, Any]) -> dict[str, Any]:
    r = dict(r)
    r["imminent"] = bool(r["imminent"])
    r["detail"] = json.loads(r["detail"])
    return r


__all__ = ["CAPABILITY_AREAS", "SOURCES", "ReportsStore", "parse_time"]
