"""JSON Schemas (Draft 2020-12) of every report, checked before any output is written.

Why schemas in code: they are built from a few helpers so that every mandatory field is
written as "this value, or the missing marker" the same way; `distillguard reports schema
KIND` prints each one, and docs/reports.md documents them. A builder whose output does not
validate is a bug, and nothing is signed or written (fail closed).
"""

from __future__ import annotations

from typing import Any

from distillguard.errors import DistillguardError

MISSING = {"$ref": "#/$defs/missing"}
STR = {"type": "string", "minLength": 1}
NUM = {"type": "number"}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}
TIME = {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$"}


def req(t: dict[str, Any]) -> dict[str, Any]:
    """A mandatory value: `t`, or explicitly declared missing."""
    return {"anyOf": [t, MISSING]}


def arr(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def obj(
    fields: dict[str, dict[str, Any]], optional: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An object whose listed fields are all required (each may be the missing marker)."""
    return {
        "type": "object",
        "required": sorted(fields),
        "properties": {**fields, **(optional or {})},
    }


CONTACT = obj({"role": STR, "name": STR, "email": STR})
ENTITY = obj(
    {
        "name": req(STR),
        "legal_name": req(STR),
        "country": req(STR),
        "us_person": req(BOOL),
        "contacts": req(arr(CONTACT)),
    }
)
EVALUATION = obj(
    {
        "model": STR,
        "version": req(STR),
        "area": STR,
        "method": STR,
        "result": STR,
        "mitigations": req(STR),
        "evaluator": req(STR),
        "performed_at": TIME,
    }
)
CLOCK = obj({"event": STR, "due": TIME, "status": STR, "citation": STR, "verification": STR})

_BIS_FULL = obj(
    {
        "notice": obj(
            {
                "type": {"const": "full"},
                "quarter_due": TIME,
                "previous_notice": {},
                "material_sha256": STR,
            }
        ),
        "reporting_entity": ENTITY,
        "thresholds": obj(
            {
                "training_ops": NUM,
                "cluster_network_gbps": NUM,
                "cluster_peak_ops_per_s": NUM,
                "citation": STR,
                "status": STR,
            }
        ),
        "training_runs": obj(
            {
                "completed": arr(
                    obj(
                        {
                            "model": STR,
                            "version": STR,
                            "total_ops": NUM,
                            "estimated": BOOL,
                            "phases": arr({"type": "object"}),
                        }
                    )
                ),
                "planned": arr(
                    obj(
                        {
                            "model": STR,
                            "planned_start": TIME,
                            "expected_ops": NUM,
                            "cluster": req(STR),
                        }
                    )
                ),
            }
        ),
        "computing_clusters": obj(
            {
                "qualifying": arr(
                    obj(
                        {
                            "name": STR,
                            "location": STR,
                            "country": req(STR),
                            "accelerator": STR,
                            "accelerator_count": INT,
                            "interconnect_gbps": NUM,
                            "peak_ops_per_s": NUM,
                        }
                    )
                ),
                "not_qualifying": INT,
            }
        ),
        "model_weights": obj(
            {
                "holdings": arr(
                    obj(
                        {
                            "model": STR,
                            "version": STR,
                            "owner": req(STR),
                            "custody": req(
                                arr(
                                    obj(
                                        {
                                            "location": STR,
                                            "storage": STR,
                                            "encrypted": BOOL,
                                            "key_holder": req(STR),
                                        }
                                    )
                                )
                            ),
                        }
                    )
                ),
                "physical_security": req(STR),
                "cybersecurity": req(STR),
            }
        ),
        "red_team": arr(req(EVALUATION)),
        "weight_incidents": arr(
            obj({"id": STR, "kind": STR, "discovered_at": TIME, "status": STR})
        ),
    }
)
_BIS_NO_CHANGE = obj(
    {
        "notice": obj(
            {
                "type": {"const": "no_change"},
                "quarter_due": TIME,
                "previous_notice": STR,
                "material_sha256": STR,
            }
        ),
        "reporting_entity": ENTITY,
        "statement": STR,
    }
)

SECTIONS: dict[str, dict[str, Any]] = {
    "bis_702_7_quarterly_notice": {
        "if": {"properties": {"notice": {"properties": {"type": {"const": "no_change"}}}}},
        "then": _BIS_NO_CHANGE,
        "else": _BIS_FULL,
    },
    "sb53_transparency_report": obj(
        {
            "developer": obj(
                {"name": req(STR), "website": req(STR), "contacts": req(arr(CONTACT))}
            ),
            "model": obj(
                {
                    "name": STR,
                    "version": STR,
                    "release_date": req(STR),
                    "languages": req(STR),
                    "modalities_output": req(STR),
                    "intended_uses": req(STR),
                    "restrictions": req(STR),
                }
            ),
            "coverage": obj(
                {
                    "frontier_model": BOOL,
                    "training_ops": req(NUM),
                    "threshold": NUM,
                    "large_frontier_developer": req(BOOL),
                    "revenue_usd": req(NUM),
                    "revenue_threshold": NUM,
                    "citation": STR,
                }
            ),
            "catastrophic_risk_assessments": req(arr(EVALUATION)),
            "third_party_evaluators": req(arr(STR)),
            "framework": req(
                obj(
                    {
                        "version": STR,
                        "title": STR,
                        "published_at": TIME,
                        "review_due": TIME,
                        "url": req(STR),
                    }
                )
            ),
        }
    ),
    "eu_annex_xi": obj(
        {
            "provider": obj({"name": req(STR), "contacts": req(arr(CONTACT))}),
            "general": obj(
                {
                    "model": STR,
                    "version": STR,
                    "tasks": req(STR),
                    "integration_types": req(STR),
                    "acceptable_use_policy": req(STR),
                    "release_date": req(STR),
                    "distribution": req(STR),
                    "architecture": req(STR),
                    "parameters": req(INT),
                    "modalities_input": req(STR),
                    "modalities_output": req(STR),
                    "licence": req(STR),
                }
            ),
            "training": obj(
                {
                    "training_method": req(STR),
                    "data_provenance": req(STR),
                    "data_curation": req(STR),
                    "training_flop": req(NUM),
                    "training_time": req(STR),
                    "energy_kwh": req(STR),
                }
            ),
            "systemic_risk": obj(
                {"presumed": BOOL, "threshold": NUM, "evaluations": req(arr(EVALUATION))}
            ),
            "retention": obj({"keep_until": TIME, "citation": STR}),
        }
    ),
    "eu_systemic_risk_notice": obj(
        {
            "provider": obj({"name": req(STR), "contacts": req(arr(CONTACT))}),
            "model": obj({"name": STR, "version": STR}),
            "compute": obj(
                {
                    "training_flop": NUM,
                    "threshold": NUM,
                    "crossed_at": req(TIME),
                    "notify_by": req(TIME),
                    "citation": STR,
                    "entries": arr({"type": "object"}),
                }
            ),
        }
    ),
    "incident_report": obj(
        {
            "incident": obj(
                {
                    "id": STR,
                    "kind": STR,
                    "title": STR,
                    "discovered_at": TIME,
                    "imminent_risk": BOOL,
                    "source": STR,
                    "reference": req(STR),
                    "status": STR,
                }
            ),
            "regime": obj({"regime": STR, "clocks": arr(CLOCK)}),
            "reporter": obj({"name": req(STR), "contacts": req(arr(CONTACT))}),
            "content": {"type": "object"},
        }
    ),
    "sb53_internal_use_summary": obj(
        {
            "period": obj({"start": TIME, "end": TIME, "due": TIME}),
            "developer": obj({"name": req(STR), "contacts": req(arr(CONTACT))}),
            "models": arr(
                obj(
                    {
                        "model": STR,
                        "version": STR,
                        "internal_use": req(STR),
                        "assessments": req(arr(EVALUATION)),
                    }
                )
            ),
        }
    ),
    "distillation_evidence": obj(
        {
            "campaign": obj(
                {
                    "id": STR,
                    "accounts": INT,
                    "requests": INT,
                    "reasons": arr(STR),
                    "strength": {},
                    "first_flagged_at": req(STR),
                    "incident": req(STR),
                }
            ),
            "accounts": arr(
                obj(
                    {
                        "account": STR,
                        "requests": INT,
                        "score": {},
                        "verdict": {},
                        "first_flagged_at": {},
                        "reasons": arr(STR),
                        "identity": req({"type": "object"}),
                        "kyc_record": req({"type": "object"}),
                        "first_request": {},
                        "last_request": {},
                    }
                )
            ),
            "network": obj(
                {
                    "subnets": arr(
                        obj(
                            {
                                "subnet": STR,
                                "accounts": arr(STR),
                                "requests": INT,
                                "seen_from_other_accounts": BOOL,
                            }
                        )
                    ),
                    "user_agents": arr(
                        obj(
                            {
                                "user_agent": STR,
                                "accounts": arr(STR),
                                "requests": INT,
                                "seen_from_other_accounts": BOOL,
                            }
                        )
                    ),
                    "countries": {"type": "object"},
                }
            ),
            "timeline": obj(
                {
                    "first_request": STR,
                    "last_request": STR,
                    "hourly_requests": arr(obj({"hour": STR, "requests": INT})),
                }
            ),
            "templates": arr(obj({"template": STR, "accounts": arr(STR), "requests": INT})),
            "examples": arr(
                obj(
                    {
                        "account": STR,
                        "ts": STR,
                        "request_id": {},
                        "commitment": req(obj({"alg": STR, "digest": STR})),
                    }
                )
            ),
            "decisions": obj(
                {
                    "total": INT,
                    "included": INT,
                    "items": arr(
                        obj(
                            {
                                "index": INT,
                                "account": STR,
                                "ts": {},
                                "request_id": {},
                                "action": STR,
                                "rule_ids": arr(STR),
                                "proof": {
                                    "type": "object",
                                    "required": ["record", "checkpoint", "hashes", "index"],
                                },
                            }
                        )
                    ),
                }
            ),
            "ledger": obj(
                {"origin": STR, "verifier_key": STR, "public_key_pem": STR, "checkpoint": req(STR)}
            ),
            "stix": obj({"bundle_id": STR, "objects": INT}),
        }
    ),
}

# Content each law asks for in an incident report (field -> what to write).
INCIDENT_FIELDS: dict[str, dict[str, str]] = {
    "sb53": {
        "date_of_incident": "date of the critical safety incident",
        "qualifies_because": "reasons the incident qualifies as a critical safety incident",
        "statement": "short and plain statement describing the incident",
        "internal_use": "whether it was associated with internal use of a frontier model",
    },
    "raise": {
        "date_of_incident": "date of the safety incident",
        "qualifies_because": "reasons the incident qualifies as a safety incident",
        "statement": "short and plain statement describing the incident",
    },
    "eu_cop": {
        "start_date": "start date of the serious incident",
        "end_date": "end date, or ongoing",
        "harm": "resulting harm and affected persons or groups",
        "chain_of_events": "chain of events that led to the incident",
        "model_involvement": "the model involved and how it was involved",
        "corrective_measures": "response and corrective measures taken or planned",
        "root_cause": "root cause analysis, as far as available",
        "recommendations": "recommendations to the AI Office / national authorities",
    },
}


DEFAULT_INCIDENT_FIELDS = {"statement": "short and plain statement describing the incident"}


def incident_fields(regime: str) -> dict[str, str]:
    return INCIDENT_FIELDS.get(regime, DEFAULT_INCIDENT_FIELDS)


def document_schema(kind: str, regime: str | None = None) -> dict[str, Any]:
    """The full schema of one report kind (incident reports: per regime)."""
    if kind not in SECTIONS:
        raise DistillguardError(f"unknown report kind {kind!r} (one of {', '.join(SECTIONS)})")
    sections = SECTIONS[kind]
    if kind == "incident_report":
        content = obj({f: req(STR) for f in incident_fields(regime or "")})
        sections = {**sections, "properties": {**sections["properties"], "content": content}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://distillguard.dev/schemas/reports/{kind}/v1",
        "title": kind,
        "$defs": {
            "missing": {
                "type": "object",
                "required": ["missing", "reason"],
                "properties": {"missing": {"const": True}, "reason": STR},
                "additionalProperties": False,
            }
        },
        **obj(
            {
                "schema": STR,
                "kind": {"const": kind},
                "title": STR,
                "generated_at": TIME,
                "pack_hash": STR,
                "subject": STR,
                "sections": sections,
                "missing": arr(obj({"field": STR, "reason": STR})),
            }
        ),
    }


def validate(doc: dict[str, Any], schema: dict[str, Any] | None = None) -> None:
    """Raise DistillguardError listing every schema violation of `doc`."""
    import jsonschema

    regime = None
    if doc.get("kind") == "incident_report":
        regime = str(((doc.get("sections") or {}).get("regime") or {}).get("regime"))
    sch = schema or document_schema(str(doc.get("kind")), regime)
    v = jsonschema.Draft202012Validator(sch)
    errors = sorted(v.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"/{'/'.join(map(str, e.absolute_path))}: {e.message[:160]}" for e in errors[:10]]
        raise DistillguardError(
            f"{doc.get('kind')} report does not match its schema: " + "; ".join(lines)
        )
