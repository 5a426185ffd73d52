"""Deciding a request: input guard, rules, refusal errors, quota admission.

Why its own module: these are the enforcement steps between the parsed request and the
model call; each fails closed (a rules exception or an unappliable degrade is a 503
`policy_error`, an unreachable quota store a 503 `quota_unavailable`), and a refusal
becomes an OpenAI-style error with a stable code, the rule ids and the pack's reason code.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson

from distillguard.errors import DistillguardError
from distillguard.gateway.appbase import EMBEDDINGS, AppBase, Req, int_param
from distillguard.gateway.config import ModelRoute
from distillguard.gateway.errors import ApiError, error_code, store_unavailable

log = logging.getLogger("distillguard.gateway")


class Deciding(AppBase):
    def _guard(self, r: Req, route: ModelRoute) -> dict[str, Any]:
        check = self.parts.guard_check
        if check is None or r.endpoint == EMBEDDINGS or not route.guard:
            return {"verdict": "allow", "family": None}
        msgs = r.messages if r.prompt is None else [{"role": "user", "content": r.prompt}]
        v = check(msgs)
        return {"verdict": v.verdict, "family": getattr(v, "family", None)}

    def _decide(self, ctx: dict[str, Any], r: Req) -> Any:
        try:
            d = self.parts.rules.decide("access", ctx)
        except Exception as exc:  # fail closed: no decision, no model call
            log.exception("rules engine failed")
            r.action = "error"
            raise ApiError(
                "policy_error", f"the policy engine failed ({type(exc).__name__}); refused"
            ) from None
        r.decided = True
        r.action = str(d.action)
        r.pack_hash = getattr(d, "pack_hash", None)
        reasons = list(getattr(d, "reasons", ()) or ())
        r.rule_ids = [str(x.rule_id) for x in reasons]
        r.reason_codes = [str(getattr(x, "reason_code", "") or "") for x in reasons]
        reason = next((c for c in r.reason_codes if c), "none")
        self._count(("d", r.action, reason), self.metrics.decisions)
        return d

    def _refusal(self, d: Any, r: Req) -> ApiError:
        reasons = list(getattr(d, "reasons", ()) or ())
        pack_code = r.reason_codes[0] if r.reason_codes else ""
        code = error_code(r.action, pack_code)
        if reasons:
            first = reasons[0]
            title = " ".join(str(getattr(first, "title", "") or pack_code).split())
            cite = " ".join(str(getattr(first, "citation", "") or "").split())
            msg = f"{title} (rule {first.rule_id}{'; ' + cite if cite else ''})"
        else:
            msg = f"request refused by policy ({r.action})"
        if r.action == "hold_for_review":
            msg = "held for compliance review: " + msg
        return ApiError(code, msg, rule_ids=r.rule_ids, reason_code=pack_code or None)

    async def _acquire(self, data: dict[str, Any], r: Req) -> None:
        """Reserve an estimate now; `_release` reconciles it with the actual usage."""
        if r.prompt is not None:
            chars = len(r.prompt)
        else:
            chars = 0
            for m in r.messages:
                c = m.get("content")
                chars += len(c) if isinstance(c, str) else len(orjson.dumps(c)) if c else 0
        tokens_in = chars // 4 + 1
        if r.endpoint == EMBEDDINGS:
            est = tokens_in
        else:
            mt = int_param(
                data,
                "max_tokens",
                int_param(data, "max_completion_tokens", self.cfg.quotas.default_max_tokens),
            )
            est = tokens_in + mt * max(1, int_param(data, "n", 1))
        r.tokens_in = tokens_in
        snap = r.snap
        acct_limits = getattr(snap, "account_limits", None)
        org_limits = getattr(snap, "org_limits", None)
        if r.action == "throttle":
            acct_limits, org_limits = self._throttled(acct_limits, org_limits)
        try:
            adm = await self.parts.quotas.acquire_async(
                r.account or "", r.org, est, account_limits=acct_limits, org_limits=org_limits
            )
        except DistillguardError as exc:  # QuotaUnavailable (Redis down): fail closed
            raise store_unavailable("quota_unavailable", "quota store", exc) from None
        hdrs = adm.headers() if hasattr(adm, "headers") else {}
        r.rl_headers = [(k.encode(), v.encode()) for k, v in hdrs.items() if k != "retry-after"]
        if not adm.ok:
            reason = str(getattr(adm, "reason", "") or "quota")
            self.metrics.quota_rejections.labels(reason).inc()
            ra = getattr(adm, "retry_after_s", None)
            if ra is None:
                raise ApiError(
                    "rate_limited",
                    f"request can never fit the limit ({reason}): lower max_tokens or n",
                )
            retry = max(1, int(-(-float(ra) // 1)))
            raise ApiError(
                "rate_limited",
                f"rate limit reached ({reason}); retry after {retry} s",
                headers=[(b"retry-after", str(retry).encode())],
            )
        r.lease = adm.lease

    def _throttled(self, acct: Any, org: Any) -> tuple[Any, Any]:
        """A throttle decision scales the caller's limits (account and org) down."""
        from distillguard.store.quotas import Limits

        f = self.cfg.quotas.throttle_factor
        pol = self.parts.quotas.policy  # type: ignore[attr-defined]

        def scale(own: Any, default: Any) -> Any:
            lim = pol.resolve(own, default)
            vals = (lim.rpm, lim.tpm, lim.concurrency)
            return Limits(*(None if x is None else max(1, int(x * f)) for x in vals))

        return scale(acct, pol.account), scale(org, pol.org)
