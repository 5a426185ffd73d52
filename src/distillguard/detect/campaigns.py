"""Incremental campaign linking: union-find over shared keys with evidence gates.

Why: hydra campaigns spread harvesting over hundreds of accounts that each look like a
light user; what gives them away is what they share (wrapper templates, system prompts,
proxy subnet + user agent pairs, an organisation). Sharing alone is not evidence: popular
SDK user agents, cloud subnets, "You are a helpful assistant." and "can you help me with
this?" are shared by thousands of honest users. So a key links accounts only when

* the key is *harvest-associated*: most requests carrying it are problem-set items
  (ordinary chat phrases and corporate boilerplate are not), and
* the account itself is *eligible*: enough requests, a harvest-heavy profile (or a
  quarter of its traffic in harvest wrappers other accounts share, whatever its payloads
  score) and no real conversation (students who follow up on answers never join,
  whatever they share).

A wrapper key counts only once it is one of the account's own templates (it recurs in at
least 5% of the account's requests and is longer than a greeting), so payload sentences
and "Q:" never link anyone. A key used by accounts that really converse (follow-ups
beyond the problems they paste under unrelated histories), at least two of them and at
least 15% of its users, is ordinary and never links: a count alone let a few conversing
members clear their campaign's wrappers. A key whose later users mostly re-send payloads
another account already sent under it is shared material, a class's worksheet, not a
harvest wrapper: a harvest spreads distinct problems over its members, since each repeat
costs it coverage (an attacker can pay that price; see docs/detect.md, "Limits").

A "follow-up" wrapped in a shared, non-ordinary harvest wrapper is the campaign's next
item posted under a chat history (see `work_level`). A new account joins a campaign on
one shared key; two established campaigns merge only when several accounts
bridge them, so one public template ("Please reason step by step...") does not chain
unrelated campaigns together.

Organisations link like templates (same gates). Subnets and user agents are *reported* as
shared evidence but do not link by themselves: cloud ranges and SDK user agents are shared
by unrelated campaigns and by honest batch jobs, and linking on them merged distinct
campaigns in our benchmark. Timing patterns are not used for linking yet.

Unions are never undone, so campaign ids are stable: the id is derived from the
campaign's oldest account. A campaign's strength grows with its eligible membership and
its pooled harvest share; it is added to each member's logit in proportion to how well
the member fits (see `AccountState.consistency`).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

from distillguard.detect.account import AccountState
from distillguard.detect.features import RequestFeatures

MAX_KEYS = 400_000  # key table bound; single-account keys are pruned first
WORK_ORDINARY, WORK_SHARED = 1, 2  # see CampaignLinker.work_level
REPLAY_KEY = "R:answers served to one account replayed in another's history"


@dataclass(slots=True)
class KeyStat:
    n_req: int = 0
    sum_h: float = 0.0
    anchor: str | None = None  # first eligible account that carried the key
    last_account: str | None = None
    n_accounts: int = 0  # distinct-account changes (exact for <=1, lower bound otherwise)
    last_payload: int = 0
    n_payloads: int = 0  # payload changes seen with the key: a wrapper wraps many payloads
    n_conversational: int = 0  # accounts that really converse and used the key
    last_conversational: str | None = None
    first_account: str | None = None
    seen: dict[int, str] = field(default_factory=dict)  # payload -> first sender (bounded:
    # at most LinkConfig.material_max + 1 entries)
    n_later: int = 0  # requests by accounts other than the key's first account ...
    n_repeat: int = 0  # ... whose payload another account already sent under the key


@dataclass(slots=True)
class Campaign:
    root: str
    id: str
    members: int = 1
    requests: int = 0
    sum_h: float = 0.0
    strong_since: float | None = None  # first time the strength reached FLAG_STRENGTH
    last_ts: float = 0.0  # last request of any member (campaign state unchanged since)
    evidence: dict[str, int] = field(default_factory=dict)  # linking key -> unions made


@dataclass(slots=True)
class LinkConfig:
    min_requests: int = 5  # an account joins campaigns only after this many requests
    min_harvest: float = 0.3  # ... with at least this mean harvest score
    max_follow: float = 0.25  # ... and at most this share of follow-ups
    min_work: float = 0.25  # ... or this share of requests in shared harvest wrappers
    key_min_req: int = 5  # a key links only after this many requests ...
    key_min_harvest: float = 0.35  # ... when its mean harvest score is at least this
    # (0.35, not higher: a campaign's wrapped payloads include instruction tasks, which
    # score lower as problem items than math, and its members pad with ordinary prompts)
    flag_strength: float = 2.0
    min_key_chars: int = 10  # "P:hi." or "L:q:" link nobody; "P:help pls" may
    template_share: float = 0.05  # a template wraps at least this share of the account's requests
    ordinary_accounts: int = 2  # a key used by this many conversing accounts ...
    # ... that are also this share of its users is ordinary (shares of account changes in
    # the key's request stream): a few conversing members cannot clear a campaign's wrapper
    ordinary_share: float = 0.15
    # a key whose later users mostly re-send payloads another account already sent under it
    # is shared material (a class's worksheet), not a harvest wrapper: a campaign spreads
    # distinct problems over its members, because every repeat costs it coverage
    material_share: float = 0.5
    # ... and only while that material is worksheet-sized: a class works through tens of
    # problems (a chapter at most), a harvest needs hundreds. Past this many distinct
    # payloads a key is judged a harvest wrapper however often they repeat, so re-sending
    # problems (to sample several answers, or to look like a class) buys a campaign at
    # most this much coverage per wording.
    material_max: int = 128
    # an account "really converses" with this share of follow-ups: a campaign that fakes a
    # few generic follow-ups (10-25%) must not be able to declare its own wrappers ordinary
    conversing: float = 0.3
    bridge_min: int = 3  # distinct bridging accounts needed to merge two campaigns ...
    bridge_frac: float = 0.2  # ... or this share of the smaller campaign, if larger


def campaign_id(root: str) -> str:
    return "cmp-" + hashlib.blake2b(root.encode(), digest_size=5).hexdigest()


class CampaignLinker:
    """Union-find over accounts; keys are examined once per request (a handful of dict ops)."""

    def __init__(self, cfg: LinkConfig | None = None) -> None:
        self.cfg = cfg or LinkConfig()
        self.keys: dict[str, KeyStat] = {}
        self.parent: dict[str, str] = {}
        self.campaigns: dict[str, Campaign] = {}  # root -> campaign
        self.joined_at: dict[str, float] = {}
        self.bridges: dict[tuple[str, str], set[str]] = {}

    # ----- union-find ----------------------------------------------------------------
    def find(self, a: str) -> str:
        p = self.parent.get(a)
        if p is None:
            return a
        root = a
        while True:
            nxt = self.parent.get(root)
            if nxt is None:
                break
            root = nxt
        while a != root:  # path compression
            nxt = self.parent[a]
            self.parent[a] = root
            a = nxt
        return root

    def campaign_of(self, account: str) -> Campaign | None:
        c = self.campaigns.get(self.find(account))
        return c if c is not None and c.members >= 2 else None

    def _ensure(self, st: AccountState, ts: float) -> Campaign:
        root = self.find(st.account)
        c = self.campaigns.get(root)
        if c is None:
            c = Campaign(root=root, id=campaign_id(root), requests=st.n, sum_h=st.sum_harvest)
            self.campaigns[root] = c
            self.joined_at.setdefault(st.account, ts)
        return c

    def _union(
        self, a: AccountState, b_account: str, states: dict[str, AccountState], key: str, ts: float
    ) -> None:
        ca = self._ensure(a, ts)
        b = states.get(b_account)
        if b is None:
            return
        cb = self._ensure(b, ts)
        if ca is cb:
            return
        if ca.members >= 2 and cb.members >= 2:
            # two established campaigns merge only on several independent bridges, so one
            # shared public template does not chain unrelated campaigns together
            pair = (ca.root, cb.root) if ca.root < cb.root else (cb.root, ca.root)
            votes = self.bridges.setdefault(pair, set())
            if len(votes) < 64:
                votes.add(a.account)
            need = max(self.cfg.bridge_min, self.cfg.bridge_frac * min(ca.members, cb.members))
            if len(votes) < need:
                return
            del self.bridges[pair]
        # the older campaign (oldest root account) survives so ids stay stable
        old, new = (ca, cb) if states[ca.root].first_ts <= states[cb.root].first_ts else (cb, ca)
        self.parent[new.root] = old.root
        old.members += new.members
        old.requests += new.requests
        old.sum_h += new.sum_h
        old.last_ts = max(old.last_ts, new.last_ts, ts)
        for k, v in new.evidence.items():
            old.evidence[k] = old.evidence.get(k, 0) + v
        old.evidence[key] = old.evidence.get(key, 0) + 1
        if new.strong_since is not None and (old.strong_since is None):
            old.strong_since = new.strong_since
        del self.campaigns[new.root]
        self.joined_at.setdefault(a.account, ts)
        self.joined_at.setdefault(b_account, ts)

    # ----- per request -----------------------------------------------------------------
    def eligible(self, st: AccountState) -> bool:
        c = self.cfg
        return (
            st.n >= c.min_requests
            # harvest-heavy, or a quarter of its traffic in harvest wrappers that other
            # accounts share (whatever this account's payloads score)
            and (st.raw_harvest() >= c.min_harvest or st.n_work >= c.min_work * st.n)
            and st.raw_follow() <= c.max_follow
        )

    def observe(
        self,
        st: AccountState,
        f: RequestFeatures,
        org: str | None,
        ts: float,
        states: dict[str, AccountState],
    ) -> None:
        """Update key statistics and link the account where the gates allow it."""
        h = st.last_h  # the account's reading of this request (set by AccountState.update)
        # a wrapper key is a template of this account only once it recurs in the account
        # (payload sentences do not) and only if it is specific enough to mean something
        need = max(3.0, self.cfg.template_share * st.n)
        # one-word labels ("Instruction:", "Problem:") open many unrelated templates: they
        # count for the account's own template share but never link accounts
        keys = [
            k
            for k in f.wrapper_keys
            if len(k) >= self.cfg.min_key_chars
            and not k.startswith("L:")
            and st.templates.get(k, 0) >= need
        ]
        if org:
            keys.append("O:" + org)
        elig = self.eligible(st)
        root = self.find(st.account)
        camp = self.campaigns.get(root)
        if camp is not None:
            camp.requests += 1
            camp.sum_h += h
            camp.last_ts = max(camp.last_ts, ts)
        for k in keys:
            ks = self.keys.get(k)
            if ks is None:
                if len(self.keys) >= MAX_KEYS:
                    self._prune()
                ks = self.keys[k] = KeyStat()
            ks.n_req += 1
            ks.sum_h += h
            # A wrapper wraps changing payloads; compared unmasked, so a drill whose problems
            # differ only in their numbers still counts as many payloads.
            if f.payload_raw != ks.last_payload:
                ks.n_payloads += 1
                ks.last_payload = f.payload_raw
            if ks.last_account != st.account:
                ks.n_accounts += 1
                ks.last_account = st.account
            if ks.first_account is None:
                ks.first_account = st.account
            elif ks.first_account != st.account:
                ks.n_later += 1
            sender = ks.seen.get(f.payload_raw)
            if sender is None:
                # one past the material bound is enough: from there the key is a harvest
                # wrapper whatever its repeats (`harvest_wrapper`), so none are counted
                if len(ks.seen) <= self.cfg.material_max:
                    ks.seen[f.payload_raw] = st.account
            elif sender != st.account and ks.first_account != st.account:
                ks.n_repeat += 1
            if ks.last_conversational != st.account and st.converses(self.cfg.conversing):
                ks.n_conversational += 1
                ks.last_conversational = st.account
            if not elig or self.ordinary(ks):
                continue
            if ks.anchor is None:
                ks.anchor = st.account
                continue
            if (
                ks.anchor != st.account
                and self.harvest_wrapper(ks)
                # a link is judged on a few later requests, so a class's second student
                # cannot link on its first, before its repeats show
                and ks.n_later >= self.cfg.key_min_req
            ):
                self._union(st, ks.anchor, states, k, ts)
        c = self.campaign_of(st.account)
        if c is not None:
            s = self.strength(c)
            if c.strong_since is None and s >= self.cfg.flag_strength:
                c.strong_since = ts

    def work_level(self, keys: tuple[str, ...]) -> int:
        """WORK_SHARED if one of these wrapper keys is a harvest wrapper shared by several
        accounts (its requests are mostly problem items, each a different payload) and not
        ordinary; WORK_ORDINARY if such a key is also used by conversing accounts; else 0."""
        level = 0
        for k in keys:
            ks = self.keys.get(k)
            if ks is not None and ks.n_accounts >= 2 and self.harvest_wrapper(ks):
                if not self.ordinary(ks):
                    return WORK_SHARED
                level = WORK_ORDINARY
        return level

    def ordinary(self, ks: KeyStat) -> bool:
        """Used by enough really conversing accounts, counted and as a share of its users
        (a few conversing members cannot make a campaign's wrapper ordinary)."""
        c = self.cfg
        return ks.n_conversational >= max(c.ordinary_accounts, c.ordinary_share * ks.n_accounts)

    def harvest_wrapper(self, ks: KeyStat) -> bool:
        """The key wraps problem items, mostly different payloads, and its later users send
        their own payloads rather than ones another account already sent under it (or the
        payloads it has seen are too many to be one class's material)."""
        c = self.cfg
        return (
            ks.n_req >= c.key_min_req
            and ks.sum_h >= c.key_min_harvest * ks.n_req
            and ks.n_payloads >= 0.8 * ks.n_req  # a sentence of a re-sent problem is not
            # (false until an account other than the first has used the key)
            and (ks.n_repeat < c.material_share * ks.n_later or len(ks.seen) > c.material_max)
        )

    def link_replay(
        self, st: AccountState, owner: str, states: dict[str, AccountState], ts: float
    ) -> None:
        """Link an account whose history replays an answer served to `owner`: the two
        share harvested output, whatever else they hide. Two accounts alone make no
        reported campaign (strength needs three members and a harvest-heavy pool)."""
        if owner != st.account and owner in states:
            self._union(st, owner, states, REPLAY_KEY, ts)

    def strength(self, c: Campaign) -> float:
        """Logit boost a campaign lends its members: grows with size and pooled harvest.

        Full at a pooled harvest of 0.3: hydra and adaptive campaigns pad half or more of
        their traffic with ordinary prompts precisely to dilute it; linking gates and each
        member's fit, not the pool, keep students out.
        """
        if c.members < 3 or c.requests == 0:
            return 0.0
        hc = c.sum_h / c.requests
        return min(5.0, 1.25 * math.log2(c.members)) * max(0.0, min(1.0, (hc - 0.15) / 0.15))

    def boost(self, account: str) -> float:
        c = self.campaign_of(account)
        return self.strength(c) if c is not None else 0.0

    def _prune(self) -> None:
        for k in [k for k, v in self.keys.items() if v.n_accounts <= 1]:
            del self.keys[k]
        if len(self.keys) >= MAX_KEYS:  # still full: drop the oldest half
            for k in list(self.keys)[: MAX_KEYS // 2]:
                del self.keys[k]

    def reported(self) -> list[Campaign]:
        """Campaigns worth a reviewer's time: three or more members and non-zero strength."""
        return [c for c in self.campaigns.values() if self.strength(c) > 0]

    def members(self) -> dict[str, list[str]]:
        """root -> member accounts (computed on demand for reports)."""
        out: dict[str, list[str]] = {}
        for a in self.joined_at:
            r = self.find(a)
            if r in self.campaigns and self.campaigns[r].members >= 2:
                out.setdefault(r, []).append(a)
        return out

    def reasons(self, c: Campaign, member_states: list[AccountState]) -> list[str]:
        hc = c.sum_h / c.requests if c.requests else 0.0
        out = [
            f"{c.members} accounts, {c.requests} requests, mean harvest score {hc:.2f}",
        ]
        kinds = {
            "P": "template opening",
            "S": "template ending",
            "L": "template label",
            "Y": "system prompt",
            "N": "subnet + user agent",
            "O": "organisation",
        }
        top = sorted(c.evidence.items(), key=lambda kv: -kv[1])[:5]
        for k, v in top:
            if k == REPLAY_KEY:
                out.append(f"{k[2:]}: linked {v} accounts")
            else:
                out.append(f"shared {kinds.get(k[0], 'key')} {k[2:82]!r} linked {v} accounts")
        subnets: dict[str, int] = {}
        agents: dict[str, int] = {}
        for s in member_states:
            for x in s.subnets:
                subnets[x] = subnets.get(x, 0) + 1
            for x in s.agents:
                agents[x] = agents.get(x, 0) + 1
        for what, d in (("subnet", subnets), ("user agent", agents)):
            shared = sorted(((v, k) for k, v in d.items() if v >= 2), reverse=True)
            if shared:
                v, k = shared[0]
                out.append(
                    f"{len(shared)} shared {what}{'s' if len(shared) > 1 else ''}; "
                    f"top {k[:60]!r} used by {v} accounts"
                )
        fol = sum(s.n_follow for s in member_states)
        req = sum(s.n for s in member_states) or 1
        out.append(f"{round(100 * fol / req)}% follow-ups across members")
        return out
