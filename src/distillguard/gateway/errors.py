"""OpenAI-style error objects with stable codes.

Why: clients (the OpenAI SDKs, LangChain, curl scripts) already understand
`{"error": {"message", "type", "param", "code"}}`; compliance teams need a stable machine
code and the rule ids behind a denial. Codes listed here are a public contract
(docs/gateway.md); rule packs may add their own `reason_code`s, passed through as-is.
"""

from __future__ import annotations

from typing import Any

import orjson

# code -> (HTTP status, OpenAI error type)
CODES: dict[str, tuple[int, str]] = {
    "invalid_request": (400, "invalid_request_error"),
    "invalid_json": (400, "invalid_request_error"),
    "invalid_api_key": (401, "authentication_error"),
    "account_suspended": (403, "permission_error"),
    "export_control_denied": (403, "permission_error"),
    "kyc_required": (403, "permission_error"),
    "denied_party": (403, "permission_error"),
    "held_for_review": (403, "permission_error"),
    "usage_policy_denied": (403, "permission_error"),
    "request_blocked": (403, "permission_error"),
    "model_not_found": (404, "invalid_request_error"),
    "not_found": (404, "invalid_request_error"),
    "method_not_allowed": (405, "invalid_request_error"),
    "request_too_large": (413, "invalid_request_error"),
    "unsupported_media_type": (415, "invalid_request_error"),
    "rate_limited": (429, "rate_limit_error"),
    "client_closed_request": (499, "invalid_request_error"),
    "internal_error": (500, "server_error"),
    "policy_error": (503, "server_error"),
    "identity_unavailable": (503, "server_error"),
    "quota_unavailable": (503, "server_error"),
    "upstream_error": (502, "server_error"),
    "upstream_unavailable": (503, "server_error"),
    "upstream_timeout": (504, "server_error"),
}


# The rule pack's reason codes are many and may grow; clients get a small stable set.
# The pack's own code is passed along too (`error.reason_code`), with the rule ids.
_REASON_TO_CODE = {
    "account_suspended": "account_suspended",
    "kyc_insufficient": "kyc_required",
    "kyc_minimal": "kyc_required",
    "cip_record_missing": "kyc_required",
    "org_record_missing": "kyc_required",
    "nationality_unknown": "kyc_required",
    "sanctioned_country": "export_control_denied",
    "sanctioned_person": "export_control_denied",
    "denied_party_hit": "export_control_denied",
    "tier3_entity": "export_control_denied",
    "tier3_location": "export_control_denied",
    "foreign_person_model_access": "export_control_denied",
    "screening_stale": "held_for_review",
    "distillation_campaign": "usage_policy_denied",
    "distillation_suspected": "usage_policy_denied",
    "reasoning_extraction": "usage_policy_denied",
    "rule_error": "policy_error",
}


def error_code(action: str, reason_code: str) -> str:
    """The stable client-facing code for a refusing decision."""
    if action == "hold_for_review":
        return (
            "kyc_required"
            if _REASON_TO_CODE.get(reason_code) == "kyc_required"
            else ("held_for_review")
        )
    return _REASON_TO_CODE.get(reason_code, "request_blocked")


class ApiError(Exception):
    """An error answered to the client; never carries a traceback."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | None = None,
        param: str | None = None,
        rule_ids: list[str] | None = None,
        reason_code: str | None = None,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        super().__init__(message)
        default_status, etype = CODES.get(code, (403, "permission_error"))
        self.code = code
        self.message = message
        self.status = status if status is not None else default_status
        self.type = etype
        self.param = param
        self.rule_ids = rule_ids or []
        self.reason_code = reason_code
        self.headers = headers or []

    def body(self, request_id: str | None = None) -> bytes:
        err: dict[str, Any] = {
            "message": self.message,
            "type": self.type,
            "param": self.param,
            "code": self.code,
        }
        if self.rule_ids:
            err["rule_ids"] = self.rule_ids
        if self.reason_code:
            err["reason_code"] = self.reason_code
        if request_id:
            err["request_id"] = request_id
        return orjson.dumps({"error": err})


def store_unavailable(code: str, what: str, exc: Exception) -> ApiError:
    """A 503 for a backing store that cannot be reached (logged; the client may retry)."""
    import logging

    logging.getLogger("distillguard.gateway").error("%s unavailable: %s", what, exc)
    return ApiError(
        code,
        f"the {what} cannot be reached right now; refused, retry shortly",
        headers=[(b"retry-after", b"1")],
    )
