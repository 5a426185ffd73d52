"""Per-account streaming state: bounded memory, updated once per request, scored on demand.

Why this shape: the per-account question is "does this look like a pipeline harvesting
answers, or like a person or a business using the model?". Pipelines send problem-set
items at volume, wrapped in a few recurring templates, ask for reasoning or token
probabilities, and never follow up. People converse (prior assistant turns, references to
the answer), wander across topics and keep irregular hours. Every rate below is shrunk
towards a benign prior with a few pseudo-requests, so an account needs evidence before it
scores high, and the score is a fixed, documented logistic combination (no model trained
on the benchmark), so each term turns directly into a reviewer's sentence.

Alone, a person-sized account (under HUMAN_VOL requests at a reading pace, no campaign, no
token probabilities or hidden-reasoning requests) is at most "suspicious": degraded, never
blocked, on its own behaviour (see `own_only_human`).

Memory per account is O(1): counters, a Welford accumulator for spacing, a 24-bin hour
histogram, a space-saving top-k of wrapper keys, a ring of recent payload hashes and a
three-item example reservoir.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field

from distillguard.detect.features import DOMAINS, RequestFeatures

TOP_K = 24  # wrapper keys tracked per account (space-saving)
RING = 64  # recent payload hashes kept for the near-duplicate rate
PRIOR_N = 5.0  # pseudo-requests of benign prior behind every rate
TPL_COT_W = 1.5  # weight of templated reasoning demands sustained over volume
JUMP_W = 10.0  # weight of fake-history problems, for campaign members only
TPL_COT_VOL = 100.0  # requests over which that term ramps up (students send tens)
PACE_W = 1.0  # weight of long templated reasoning pulled faster than anyone could read it
PACE_GAP = 10.0  # mean seconds between requests below which nobody reads long answers
PACE_VOL = 300.0  # requests over which that term ramps up
HUMAN_VOL = 100  # below this many requests a human-paced, unlinked account is not blocked
FAB_W = 6.0  # weight of problems sent under histories whose answers we never served
SERVED_RING = 256  # fingerprints of answers served to the account, kept to verify histories
HIST_RING = 16  # recent history fingerprints (a recurring one is a few-shot example)
MIN_SERVED = 3  # answers we must have served the account before its histories are checked

# what a request's history says about the answer it ends with (see OnlineDetector)
HIST_NONE, HIST_UNKNOWN, HIST_SERVED, HIST_UNSERVED, HIST_REPLAYED = range(5)

DISTILLATION = "distillation"
SUSPICIOUS = "suspicious"
BENIGN = "benign"


@dataclass(slots=True)
class Thresholds:
    """Verdict cut-offs on the score and the evidence an account needs first."""

    distillation: float = 0.85
    suspicious: float = 0.5
    min_requests: int = 5  # no "distillation" on fewer of the account's own requests


@dataclass(slots=True)
class AccountState:
    """Everything we remember about one account."""

    account: str
    n: int = 0
    first_ts: float = 0.0
    last_ts: float = 0.0
    sum_harvest: float = 0.0
    n_harvest: int = 0
    n_cot: int = 0
    n_coerce: int = 0
    n_format: int = 0
    n_follow: int = 0
    n_jump: int = 0  # problems (or templated items) sent under an unrelated chat history
    n_multi: int = 0
    n_lp: int = 0
    n_temp0: int = 0
    n_big: int = 0
    n_templated: int = 0
    n_tpl_harvest: int = 0
    n_tpl_cot: int = 0
    n_tpl_cot_long: int = 0  # ... on no supplied text, long budget (max_tokens unset/>= 2048)
    n_dup: int = 0
    n_out_of_order: int = 0
    n_checked: int = 0  # histories whose last answer could be checked against what we served
    n_unserved: int = 0  # ... and was never served to this account (nor is a few-shot)
    n_fab: int = 0  # problems sent under such a history
    n_replayed: int = 0  # histories ending with an answer served to another account
    n_fp: int = 0  # answers served to this account with a fingerprint
    served: array[int] = field(default_factory=lambda: array("Q"))
    hist_fps: list[int] = field(default_factory=list)
    domains: list[int] = field(default_factory=lambda: [0] * len(DOMAINS))
    hours: list[int] = field(default_factory=lambda: [0] * 24)
    templates: dict[str, int] = field(default_factory=dict)
    n_tpl_reply: int = 0  # "follow-ups" wrapped in a shared harvest wrapper (templated work)
    n_follow_raw: int = 0  # follow-ups as the request features say (before that test)
    n_topic_jump: int = 0  # problems pasted under an unrelated chat history
    n_work: int = 0  # requests wrapped in a shared, non-ordinary harvest wrapper
    last_h: float = 0.0  # effective harvest score of the last request (for the linker)
    ring: list[int] = field(default_factory=list)
    dt_n: int = 0
    dt_mean: float = 0.0
    dt_m2: float = 0.0
    dt_quick: int = 0  # gaps under PACE_GAP s (too short to have read a long answer)
    subnets: set[str] = field(default_factory=set)
    agents: set[str] = field(default_factory=set)
    systems: set[str] = field(default_factory=set)
    examples: list[str] = field(default_factory=list)
    campaign_boost: float = 0.0  # set by the campaign linker
    last_verdict: str = BENIGN
    last_reasons: list[str] = field(default_factory=list)
    first_flagged_ts: float | None = None
    first_flagged_n: int | None = None

    def history_status(self, f: RequestFeatures) -> int:
        """Whether the answer this request's history ends with is one we served this account.

        Checked only if every earlier answer to the account carried a fingerprint
        (`response.content_hash`: an answer we could not fingerprint may be the one quoted),
        at least MIN_SERVED were, and none has been evicted from the bounded ring. A
        history fingerprint the account keeps re-sending is a fixed few-shot example, not a
        fabricated conversation. Cross-account replays are decided by the caller, which
        sees every account.
        """
        fp = f.prior_fp
        if fp == 0:
            return HIST_NONE
        if fp in self.served:
            return HIST_SERVED
        if fp in self.hist_fps or self.n_fp < max(self.n, MIN_SERVED) or self.n_fp > SERVED_RING:
            return HIST_UNKNOWN
        return HIST_UNSERVED

    def update(self, f: RequestFeatures, ts: float, hist: int = HIST_NONE, work: int = 0) -> None:
        """Fold one request in (O(1) amortised). `hist` is the request's history status;
        `work` says the request is wrapped in a key other accounts use for problem items
        (1: one that conversing accounts use too, 2: one they do not; see
        CampaignLinker.work_level)."""
        if self.n == 0:
            self.first_ts = ts
        elif ts >= self.last_ts:
            dt = ts - self.last_ts
            self.dt_n += 1
            delta = dt - self.dt_mean
            self.dt_mean += delta / self.dt_n
            self.dt_m2 += delta * (dt - self.dt_mean)
            self.dt_quick += dt < PACE_GAP
        else:
            self.n_out_of_order += 1
        self.last_ts = max(self.last_ts, ts)
        self.n += 1
        followup = f.followup
        self.n_work += work >= 2
        if followup and work >= 2:
            # wrapped in a template other accounts send problem items in (and no conversing
            # account uses): a pipeline's next item posted under a chat history, however
            # chatty its wording
            followup = False
            self.n_tpl_reply += 1
        h = self.last_h = f.harvest if followup == f.followup else f.fresh_harvest
        self.sum_harvest += h
        harvest = h >= 0.5
        self.n_harvest += harvest
        self.n_cot += f.cot
        self.n_coerce += f.coercion
        self.n_format += f.answer_format
        # a follow-up counts only as a follow-up to an answer we gave (or could not check)
        foreign = hist in (HIST_UNSERVED, HIST_REPLAYED)
        self.n_follow += followup and not foreign
        self.n_follow_raw += f.followup and not foreign
        self.n_topic_jump += f.topic_jump
        # a templated item under a chat history is staged like a pasted problem
        self.n_jump += f.topic_jump or followup != f.followup
        if f.prior_fp:
            self.hist_fps.append(f.prior_fp)
            if len(self.hist_fps) > HIST_RING:
                del self.hist_fps[0]
            if hist != HIST_UNKNOWN:
                self.n_checked += 1
            self.n_unserved += hist == HIST_UNSERVED
            self.n_replayed += hist == HIST_REPLAYED
            self.n_fab += foreign and harvest
        if f.served_fp:
            self.n_fp += 1
            self.served.append(f.served_fp)
            if len(self.served) > SERVED_RING:
                del self.served[0]
        # a fake history is no conversation
        self.n_multi += f.multi_turn and not f.topic_jump and followup == f.followup
        self.n_lp += f.logprobs or f.n > 1
        self.n_temp0 += f.temperature == 0.0
        self.n_big += f.max_tokens >= 2048
        self.domains[DOMAINS.index(f.domain)] += 1
        self.hours[int(ts // 3600) % 24] += 1
        recurring = False
        for k in f.wrapper_keys:
            c = self.templates.get(k)
            if c is not None:
                recurring = True
                self.templates[k] = c + 1
            elif len(self.templates) < TOP_K:
                self.templates[k] = 1
            else:  # space-saving: replace the smallest counter
                victim = min(self.templates, key=self.templates.__getitem__)
                self.templates[k] = self.templates.pop(victim) + 1
        self.n_templated += recurring
        self.n_tpl_harvest += recurring and harvest
        tpl_cot = recurring and f.cot and not f.multi_turn
        self.n_tpl_cot += tpl_cot
        self.n_tpl_cot_long += (
            tpl_cot and not f.data and (f.max_tokens == 0 or f.max_tokens >= 2048)
        )
        if f.payload_key in self.ring:
            self.n_dup += 1
        self.ring.append(f.payload_key)
        if len(self.ring) > RING:
            del self.ring[0]
        if f.subnet and len(self.subnets) < 8:
            self.subnets.add(f.subnet)
        if len(self.agents) < 8:
            self.agents.add(f.user_agent)
        if f.system_key is not None and len(self.systems) < 8:
            self.systems.add(f.system_key)
        if harvest and len(self.examples) < 3:
            self.examples.append(f.excerpt)

    # ----- derived rates -------------------------------------------------------------
    def rate(self, count: float, prior: float) -> float:
        """A rate shrunk towards `prior` by PRIOR_N pseudo-requests."""
        return (count + PRIOR_N * prior) / (self.n + PRIOR_N)

    def raw_harvest(self) -> float:
        return self.sum_harvest / self.n if self.n else 0.0

    def converses(self, share: float) -> bool:
        """Whether the account really talks back: follow-ups (as the request features see
        them, so this does not depend on which wrappers the population has flagged) beyond
        the problems it pasted under unrelated histories make `share` of its traffic."""
        conv = self.n_follow_raw - self.n_topic_jump
        return conv >= 2 and conv >= share * self.n

    def raw_follow(self) -> float:
        return self.n_follow / self.n if self.n else 0.0

    def spacing_cv(self) -> float | None:
        """Coefficient of variation of inter-arrival times (None before 10 gaps)."""
        if self.dt_n < 10 or self.dt_mean <= 0:
            return None
        return math.sqrt(self.dt_m2 / (self.dt_n - 1)) / self.dt_mean

    def pace(self) -> float:
        """0..1: machine volume, i.e. hundreds of requests at a mean gap under PACE_GAP s."""
        if self.dt_n < 10 or self.dt_mean >= PACE_GAP:
            return 0.0
        return min(1.0, self.n / PACE_VOL)

    def human_scale(self) -> bool:
        """A person's volume and pace: under HUMAN_VOL requests, a mean gap of at least
        PACE_GAP s and at most half the gaps shorter than that (a pipeline that bursts
        inside sessions does not pass on its long pauses between them)."""
        return (
            self.n < HUMAN_VOL
            and self.dt_n >= 1
            and self.dt_mean >= PACE_GAP
            and 2 * self.dt_quick <= self.dt_n
        )

    def evaluation_like(self) -> bool:
        """A one-off benchmark run: greedy, single sample, one template, short answers."""
        if self.n < 20:
            return False
        return (
            self.n_temp0 >= 0.95 * self.n
            and self.n_lp == 0
            and self.n_coerce == 0
            and self.n_big < 0.5 * self.n
            and self.n_templated >= 0.8 * (self.n - 1)
            and self.n <= 3000
        )

    def own_logit(self) -> float:
        """Logistic score from the account's own behaviour (see module docstring)."""
        h = self.rate(self.sum_harvest, 0.15)
        cot = self.rate(self.n_cot, 0.05)
        coerce = self.n_coerce / (self.n + PRIOR_N)
        follow = self.rate(self.n_follow, 0.1)
        tpl = self.n_tpl_harvest / (self.n + PRIOR_N)
        lp = self.n_lp / (self.n + PRIOR_N)
        single = 1.0 - self.n_multi / self.n if self.n else 0.0
        tpl_cot = self.n_tpl_cot / (self.n + PRIOR_N)
        z = (
            -5.0
            + 6.0 * h
            + 1.5 * cot
            + 6.0 * coerce
            + 3.0 * tpl
            + 1.5 * lp
            - 8.0 * follow
            # a recurring wrapper demanding reasoning around ever-new single-turn payloads,
            # hundreds of times: a pipeline, whatever the payloads are (math or instructions)
            + TPL_COT_W * tpl_cot * single * min(1.0, self.n / TPL_COT_VOL)
            # ... and when long reasoning answers arrive faster than anyone could read them,
            # hundreds of times, a pipeline is collecting them (a classifier job asks for
            # a short label; a person reads)
            + PACE_W * self.n_tpl_cot_long / (self.n + PRIOR_N) * single * self.pace()
            # sustained problem traffic with no conversation at all: suspicious on its own
            + 1.5 * max(0.0, h - 0.3) / 0.7 * single * min(1.0, self.n / 30)
            # problems sent under "prior answers" this service never gave this account:
            # a conversation staged to look human (or someone else's answers replayed)
            + FAB_W * self.n_fab / (self.n + PRIOR_N)
        )
        cv = self.spacing_cv()
        if cv is not None and cv < 0.35 and h > 0.4:
            z += 0.5  # machine-steady harvesting
        return z

    def consistency(self) -> float:
        """0..1: how well this account fits a harvesting campaign it was linked to.

        Running the campaign's templates on problem items is the fit, or sending a share
        of the traffic in harvest wrappers other accounts share, whatever the payloads
        score (a quarter of the traffic is enough: hydra accounts pad the rest with
        ordinary prompts); follow-ups
        to earlier answers, which pipelines rarely bother with, take it away, except as
        many as the account sent fresh problems under unrelated histories (staging).
        """
        if self.n == 0:
            return 0.0
        fit = max(
            min(1.0, max(self.n_tpl_harvest, self.n_work) / self.n / 0.25),
            max(0.0, min(1.0, (self.raw_harvest() - 0.2) / 0.2)),
        )
        # a member that sends fresh problems under unrelated chat histories is staging
        # conversation: each such request discredits one of its follow-ups
        staged = max(0.0, self.n_follow - self.n_jump) / self.n
        return fit * max(0.0, 1.0 - 2.5 * staged)

    def score(self) -> float:
        z = self.own_logit() + self.campaign_boost * self.consistency()
        if self.campaign_boost > 0:
            # inside a harvesting campaign, problems pasted under unrelated chat histories
            # are decoration to look conversational (alone they are a chat-app student)
            z += JUMP_W * self.n_jump / (self.n + PRIOR_N)
        s = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
        if self.evaluation_like():
            s = min(s, 0.8)  # gray: a benchmark run is for review, not blocking
        return s

    def verdict(self, score: float, th: Thresholds) -> str:
        if score >= th.distillation and (self.n >= th.min_requests or self.campaign_boost > 0):
            if self.own_only_human():
                return SUSPICIOUS  # degrade, do not block (see own_only_human)
            return DISTILLATION
        if score >= th.suspicious:
            return SUSPICIOUS
        return BENIGN

    def own_only_human(self) -> bool:
        """Whether a high score rests only on this account's own behaviour at a person's
        scale: no campaign, human-paced, under HUMAN_VOL requests, and no request for hidden
        reasoning or token probabilities. A student who pastes worksheet problems in the
        teacher's step-by-step wording and rarely follows up looks, alone, like a slow
        naive sweep; such an account is "suspicious" (degraded), never blocked on its own.
        A harvester that stays this small and slow per account must spread over many
        accounts, which is what campaign linking looks at; and it is still degraded."""
        return (
            self.campaign_boost <= 0
            and self.n_coerce == 0
            and self.n_lp == 0
            and self.human_scale()
        )

    # ----- reviewer sentences ------------------------------------------------------------
    def reasons(self) -> list[str]:
        """Plain sentences naming the evidence behind the score (strongest first)."""
        n = self.n
        out: list[str] = []
        if n == 0:
            return out
        top_dom = max(range(len(DOMAINS)), key=self.domains.__getitem__)
        need = max(3.0, 0.05 * n)  # a template wraps a real share of the traffic
        templ = [k for k, c in self.templates.items() if c >= need]
        harvest_pct = round(100 * self.n_harvest / n)
        if self.n_harvest:
            s = (
                f"{harvest_pct}% of {n} requests are problem-set items "
                f"(mostly {DOMAINS[top_dom]}, {round(100 * self.domains[top_dom] / n)}% of all)"
            )
            if templ:
                s += f" wrapped in {len(templ)} recurring template{'s' if len(templ) > 1 else ''}"
            out.append(s)
        if self.n_cot:
            out.append(f"{round(100 * self.n_cot / n)}% ask for step-by-step reasoning")
        if self.n_coerce:
            out.append(
                f"{self.n_coerce} request{'s' if self.n_coerce > 1 else ''} try to extract "
                "hidden or internal reasoning"
            )
        if self.n_lp:
            out.append(f"{round(100 * self.n_lp / n)}% request token probabilities or n>1")
        if self.n_follow == 0 and n >= 5:
            out.append("no follow-ups to earlier answers")
        elif self.n_follow:
            out.append(f"{round(100 * self.n_follow / n)}% are follow-ups to earlier answers")
        if self.n_jump:
            out.append(
                f"{round(100 * self.n_jump / n)}% are problems or templated items sent under "
                "an unrelated chat history (counted as single-turn)"
            )
        if self.n_unserved:
            out.append(
                f"{self.n_unserved} of {self.n_checked} checked chat histories quote answers "
                "this service never gave the account"
            )
        if self.n_replayed:
            out.append(f"{self.n_replayed} histories replay answers served to other accounts")
        cv = self.spacing_cv()
        if cv is not None and cv < 0.35:
            out.append(f"{self.dt_mean:.1f} s regular spacing (CV {cv:.2f})")
        if self.evaluation_like():
            out.append("looks like a one-off benchmark run (greedy, one template): review")
        if self.campaign_boost > 0 and self.consistency() > 0:
            out.append("linked to a campaign of accounts sharing templates or infrastructure")
        if templ:
            out.append("template: " + repr(max(templ, key=self.templates.__getitem__)[2:80]))
        return out
