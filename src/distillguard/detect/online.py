"""The online detector the gateway feeds: `observe(event) -> AccountSignal`.

Why in-process and incremental: the gateway hands every RequestEvent to this object off
the request path (a background consumer); each call does one feature extraction, one
O(1) account update and a few dictionary operations in the campaign linker, so it costs
tens of microseconds and the risk it returns is current. Nothing here blocks on I/O.

Causality: the signal returned for an event depends only on events observed before it,
which is what makes the offline report (`distillguard detect`) equal to what the gateway
would have said at the time.

Not thread-safe by design beyond a coarse lock: feed it from one consumer.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from distillguard.detect.account import (
    DISTILLATION,
    HIST_REPLAYED,
    HIST_UNKNOWN,
    HIST_UNSERVED,
    AccountState,
    Thresholds,
)
from distillguard.detect.campaigns import CampaignLinker, LinkConfig
from distillguard.detect.features import RequestFeatures, extract
from distillguard.events import RequestEvent

SERVED_INDEX = 262_144  # answer fingerprints remembered across accounts (FIFO), for replays


@dataclass(slots=True)
class AccountSignal:
    """What the detector says about an account right now (flows into the account snapshot)."""

    account: str
    score: float  # 0..1, higher = more likely distillation
    verdict: str  # "distillation" | "suspicious" | "benign"
    campaign: str | None  # campaign id when linked into a reported campaign
    reasons: list[str] = field(default_factory=list)
    requests: int = 0


class OnlineDetector:
    """Streaming distillation detector over RequestEvents (see module docstring)."""

    def __init__(
        self, thresholds: Thresholds | None = None, link: LinkConfig | None = None
    ) -> None:
        self.thresholds = thresholds or Thresholds()
        self.linker = CampaignLinker(link)
        self.states: dict[str, AccountState] = {}
        # answer fingerprint -> the one account it was served to ("" once served to several:
        # a canned answer proves nothing)
        self.served_by: dict[int, str] = {}
        self._lock = threading.Lock()

    def observe(self, event: RequestEvent) -> AccountSignal:
        """Fold one request in and return the account's current signal."""
        f = extract(event)
        return self.observe_features(event.account, f, event.ts.timestamp(), event.org)

    def observe_features(
        self, account: str, f: RequestFeatures, ts: float, org: str | None
    ) -> AccountSignal:
        """As `observe`, with features computed by the caller (lets them run elsewhere)."""
        with self._lock:
            st = self.states.get(account)
            if st is None:
                st = self.states[account] = AccountState(account)
            hist = st.history_status(f)
            owner = None
            if hist in (HIST_UNSERVED, HIST_UNKNOWN):
                owner = self.served_by.get(f.prior_fp)
                if owner:  # an answer served to another account, replayed here
                    hist = HIST_REPLAYED
            # a "follow-up" wrapped in a template the population uses for problem items
            work = self.linker.work_level(f.wrapper_keys) if f.wrapper_keys else 0
            st.update(f, ts, hist, work)
            if f.served_fp:
                self._remember(f.served_fp, account)
            self.linker.observe(st, f, org, ts, self.states)
            if owner:
                self.linker.link_replay(st, owner, self.states, ts)
            return self._signal(st, ts, with_reasons=False)

    def _remember(self, fp: int, account: str) -> None:
        prev = self.served_by.get(fp)
        if prev is None:
            if len(self.served_by) >= SERVED_INDEX:
                del self.served_by[next(iter(self.served_by))]
            self.served_by[fp] = account
        elif prev and prev != account:
            self.served_by[fp] = ""

    def _signal(self, st: AccountState, ts: float | None, *, with_reasons: bool) -> AccountSignal:
        camp = self.linker.campaign_of(st.account)
        st.campaign_boost = self.linker.strength(camp) if camp is not None else 0.0
        score = st.score()
        verdict = st.verdict(score, self.thresholds)
        if verdict == DISTILLATION and st.first_flagged_ts is None and ts is not None:
            st.first_flagged_ts = ts
            st.first_flagged_n = st.n
        reported = camp is not None and self.linker.strength(camp) > 0
        if with_reasons:
            reasons = st.reasons()
        elif verdict != st.last_verdict:  # sentences only when the verdict changes (cheap)
            reasons = st.reasons() if verdict != "benign" else []
        else:
            reasons = st.last_reasons
        st.last_verdict, st.last_reasons = verdict, reasons
        return AccountSignal(
            account=st.account,
            score=score,
            verdict=verdict,
            campaign=camp.id if reported and camp is not None else None,
            reasons=reasons,
            requests=st.n,
        )

    def account_state(self, account: str) -> AccountSignal | None:
        """The account's signal now (with campaign evidence gathered since its last request)."""
        with self._lock:
            st = self.states.get(account)
            if st is None:
                return None
            return self._signal(st, None, with_reasons=True)
