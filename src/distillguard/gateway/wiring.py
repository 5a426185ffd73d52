"""Screening -> identity: the one place where a denied-party verdict becomes a customer's
screening status, which the rules read on every request.

Why here: the screening part does not import identity (parts stay decoupled; it returns
`VerdictChange` records instead), and identity does not know about lists. The gateway is
where the parts are already composed (adapters.py), it holds both services on the same
database, and it is where list imports and onboarding must take effect on the very next
request. So the composition lives in the gateway, behind the admin token:

- `import_list`: import a list snapshot, propagate every `VerdictChange` with
  `IdentityService.set_screening_status(subject_id, new, ref)`, then screen the
  customers that were never screened (the screening part re-screens only subjects it
  already has a verdict for);
- `screen`: screen one account or organisation (all its names: holder, organisation,
  ultimate parent, legal name, beneficial owners, resellers, from
  `distillguard.identity.targets`) and record the verdict in identity; called when the
  admin API onboards or changes a customer (`OnboardingScreen`), once lists are loaded;
- `reconcile`: make every customer's status equal to the screening part's current
  verdict (lists imported by `distillguard lists import` in another process; lists that
  went stale, which the rules hold): `distillguard sync-screening`.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

log = logging.getLogger("distillguard.gateway")


@dataclass(slots=True)
class SyncReport:
    """What one import (or one onboarding screen) changed in identity."""

    propagated: list[tuple[str, str, str]] = field(default_factory=list)  # (id, old, new)
    screened: dict[str, str] = field(default_factory=dict)  # id -> status, first screens

    def to_dict(self) -> dict[str, Any]:
        return {
            "changes": [{"subject_id": s, "old": o, "new": n} for s, o, n in self.propagated],
            "screened": self.screened,
        }


class ScreeningLink:
    """Keeps identity's screening statuses in step with the screening part's verdicts."""

    def __init__(self, ids: Any, screening: Any) -> None:
        self.ids = ids
        self.screening = screening

    def lists_loaded(self) -> bool:
        return bool(self.screening.status())

    def import_list(self, path: Path, source: str, **kw: Any) -> tuple[Any, SyncReport]:
        """Import a list file (screening part), then bring identity up to date."""
        report = self.screening.import_list(path, source, **kw)
        sync = SyncReport()
        for ch in report.changes:
            if self._known(ch.subject_id):
                self.ids.set_screening_status(ch.subject_id, ch.new, ch.ref)
                sync.propagated.append((ch.subject_id, ch.old, ch.new))
        for subject_id in self._targets():
            if self.screening.status_of(subject_id) == "unknown":
                sync.screened[subject_id] = self.screen(subject_id)
        log.info(
            "screening list %s imported: %d verdict change(s) propagated, %d first screen(s)",
            source,
            len(sync.propagated),
            len(sync.screened),
        )
        return report, sync

    def reconcile(self) -> SyncReport:
        """Identity's screening statuses := the screening part's verdicts (first-screening
        the customers that have none). Idempotent; safe to run at any time."""
        sync = SyncReport()
        for subject_id in self._targets():
            status = self.screening.status_of(subject_id)
            if status == "unknown":
                sync.screened[subject_id] = self.screen(subject_id)
                continue
            verdict = self.screening.verdict(subject_id)
            if status == "stale" and verdict is not None and verdict.status == "hit":
                status = "hit"  # old lists do not make a denied party less denied
            acct = self.ids.find_account(subject_id)
            rec = acct if acct is not None else self.ids.find_org(subject_id)
            current = str(rec.screening_status) if rec is not None else None
            if rec is not None and current != status:
                ref = verdict.ref if verdict is not None else "screening"
                self.ids.set_screening_status(subject_id, status, ref)
                sync.propagated.append((subject_id, str(current), status))
        return sync

    def screen(self, subject_id: str) -> str:
        """Screen one account/organisation by all its names; record the verdict in identity.
        Returns the status ("" when the subject has no name to screen, e.g. an org member
        account without its own KYC record: its organisation is screened instead)."""
        if self.ids.find_account(subject_id) is None:
            org = self.ids.find_org(subject_id)  # the admin API accepts an org's name too
            subject_id = org.id if org is not None else subject_id
        targets = self._targets(subject_id).get(subject_id)
        if not targets:
            return ""
        schemas = {t.schema for t in targets}
        is_org = any(t.role == "organisation" for t in targets)
        verdict = self.screening.screen_subject(
            subject_id,
            list(dict.fromkeys(t.name for t in targets)),
            schemas.pop() if len(schemas) == 1 else "LegalEntity",
            targets[0].country,
            subject_type="organization" if is_org else "account",
        )
        self.ids.set_screening_status(subject_id, verdict.status, verdict.ref)
        return str(verdict.status)

    def _targets(self, subject_id: str | None = None) -> dict[str, list[Any]]:
        from distillguard.identity.targets import screening_targets

        by_subject: dict[str, list[Any]] = defaultdict(list)
        for t in screening_targets(self.ids, subject_id):
            by_subject[t.subject_id].append(t)
        return by_subject

    def _known(self, subject_id: str) -> bool:
        return bool(
            self.ids.find_account(subject_id) is not None
            or self.ids.find_org(subject_id) is not None
        )


# Admin API calls after which a customer's names may be new or changed (mount-relative).
_ONBOARDING = re.compile(
    r"^/admin/(?:(?P<create>orgs|accounts)|(?:orgs|accounts)/(?P<id>[^/]+)(?:/kyc)?)/?$"
)


class OnboardingScreen:
    """ASGI wrapper of the identity admin API: after a customer is created or its names or
    KYC record change, screen it before the response is sent (when lists are loaded), so
    the next model request is decided with the verdict."""

    def __init__(self, app: Any, link: ScreeningLink) -> None:
        self.app = app
        self.link = link

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        m = _ONBOARDING.match(scope.get("path", "")) if scope["type"] == "http" else None
        method = scope.get("method")
        if (
            m is None
            or method not in ("POST", "PATCH", "PUT")
            or (method == "POST") != bool(m.group("create"))
        ):
            await self.app(scope, receive, send)
            return
        held: list[dict[str, Any]] = []

        async def hold(msg: dict[str, Any]) -> None:
            held.append(msg)

        await self.app(scope, receive, hold)
        start = next((x for x in held if x["type"] == "http.response.start"), None)
        if start is not None and 200 <= int(start["status"]) < 300:
            subject = _subject_id(held) or m.group("id")
            if subject:
                try:
                    if await asyncio.to_thread(self.link.lists_loaded):
                        await asyncio.to_thread(self.link.screen, subject)
                except Exception:  # the record is saved; the status stays as it was
                    log.exception("screening at onboarding failed for %s", subject)
        for msg in held:
            await send(msg)


def _subject_id(held: list[dict[str, Any]]) -> str | None:
    """The customer's id from the admin API's JSON answer (`id`, or `subject_id` for KYC)."""
    body = b"".join(x.get("body", b"") for x in held if x["type"] == "http.response.body")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    sid = data.get("id") or data.get("subject_id")
    return sid if isinstance(sid, str) else None
