"""Reading the `reference:` section of a pack into `reference.Reference`.

Every fact is checked where it is written (unknown keys, ISO codes, dates, durations,
names of groups, models and clocks it refers to), so a bad pack fails to load with the
file and line of the mistake instead of deciding wrongly later. One function per section.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from distillguard.rules.reference import (
    COMPARES,
    Allowlist,
    CountryGroup,
    Flag,
    IncidentClock,
    IncidentType,
    LicenceException,
    Member,
    Meta,
    ModelInfo,
    Reference,
    Threshold,
    TierDef,
    Tiers,
)
from distillguard.rules.validate import (
    Where,
    check_keys,
    country,
    item_line,
    line_of,
    mapping,
    number,
    seq,
    string,
    to_epoch,
    verification,
)

META_KEYS = {"citation", "verification", "effective_from", "effective_until", "note"}


def parse_reference(raw: Any, where: Where) -> Reference:
    """Validate and build the `reference:` section of a pack."""
    ref = Reference()
    if raw is None:
        return ref
    d = mapping(raw, where, "reference")
    check_keys(d, where, REFERENCE_KEYS, set(), "reference")
    for key, parse in _SECTIONS:  # in this order: a section may name facts of earlier ones
        if d.get(key) is None:
            continue
        w = where.at(line_of(d, key))
        parse(ref, mapping(d[key] or {}, w, key), w)
    if d.get("default_classification") is not None:
        ref.default_classification = str(d["default_classification"])
    return ref


def _country_groups(ref: Reference, groups: dict[str, Any], w: Where) -> None:
    for name, g in groups.items():
        gw = w.at(line_of(groups, name), f"country group {name}")
        g = mapping(g, gw, "country group")
        check_keys(
            g, gw, {"title", "members", *META_KEYS}, {"members", "citation"}, "country group"
        )
        meta = parse_meta(g, gw)
        members = _members(g["members"], gw.at(line_of(g, "members")), meta, "members", iso=True)
        ref.groups[name] = CountryGroup(name, str(g.get("title", name)), meta, tuple(members))


def _tiers(ref: Reference, t: dict[str, Any], tw: Where) -> None:
    tw = tw.at(tw.line, "tiers")
    check_keys(t, tw, {"default", "tiers", *META_KEYS}, {"default", "tiers", "citation"}, "tiers")
    meta = parse_meta(t, tw)
    defs: list[TierDef] = []
    tl = seq(t["tiers"], tw.at(line_of(t, "tiers")), "tiers")
    for i, td in enumerate(tl):
        iw = tw.at(item_line(tl, i))
        td = mapping(td, iw, "tier")
        check_keys(td, iw, {"tier", "countries", "groups"}, {"tier"}, "tier")
        num = int(number(td["tier"], iw, "tier"))
        cs = _members(td.get("countries") or [], iw, meta, "countries", iso=True)
        gs = [str(x) for x in seq(td.get("groups") or [], iw, "groups")]
        for gname in gs:
            if gname not in ref.groups:
                raise iw.error(f"unknown country group '{gname}'")
        defs.append(TierDef(num, tuple(cs), tuple(gs)))
    default = int(number(t["default"], tw, "default"))
    ref.tiers = Tiers(meta, default, tuple(defs))


def _models(ref: Reference, models: dict[str, Any], w: Where) -> None:
    for name, m in models.items():
        mw = w.at(line_of(models, name), f"model {name}")
        m = mapping(m, mw, "model")
        check_keys(m, mw, {"classification", *META_KEYS}, {"classification", "citation"}, "model")
        cls = string(m, "classification", mw) or ""
        ref.models[name] = ModelInfo(name, cls, parse_meta(m, mw))


def _thresholds(ref: Reference, thresholds: dict[str, Any], w: Where) -> None:
    for name, v in thresholds.items():
        tw = w.at(line_of(thresholds, name), f"threshold {name}")
        entries = v if isinstance(v, list) else [v]
        for i, e in enumerate(entries):
            ew = tw.at(item_line(entries, i)) if isinstance(v, list) else tw
            e = mapping(e, ew, "threshold")
            check_keys(
                e, ew, {"value", "unit", "compare", *META_KEYS}, {"value", "citation"}, "threshold"
            )
            compare = str(e.get("compare", "gte"))
            if compare not in COMPARES:
                raise ew.at(line_of(e, "compare")).error(
                    f"threshold compare must be one of {', '.join(COMPARES)} "
                    f"(gte: 'X or more'; gt: 'more than X'), got {compare!r}"
                )
            prior = ref.thresholds.get(name)
            if prior and prior[0].compare != compare:
                raise ew.error(
                    f"threshold {name} entries disagree on compare ({prior[0].compare} vs "
                    f"{compare}): give the changed comparison a new threshold name"
                )
            ref.thresholds.setdefault(name, []).append(
                Threshold(
                    name,
                    number(e["value"], ew.at(line_of(e, "value")), "value"),
                    str(e.get("unit", "")),
                    parse_meta(e, ew),
                    compare,
                )
            )


def _flags(ref: Reference, flags: dict[str, Any], w: Where) -> None:
    for name, f in flags.items():
        fw = w.at(line_of(flags, name), f"flag {name}")
        f = mapping(f, fw, "flag")
        check_keys(f, fw, {"value", *META_KEYS}, {"value", "citation"}, "flag")
        if not isinstance(f["value"], bool):
            raise fw.error("flag value must be true or false")
        ref.flags[name] = Flag(name, f["value"], parse_meta(f, fw))


def _licence_exceptions(ref: Reference, les: dict[str, Any], w: Where) -> None:
    for name, le in les.items():
        lw = w.at(line_of(les, name), f"licence exception {name}")
        le = mapping(le, lw, "licence exception")
        check_keys(
            le, lw, {"title", "params", *META_KEYS}, {"title", "citation"}, "licence exception"
        )
        params = mapping(le.get("params") or {}, lw, "params")
        ref.licence_exceptions[name] = LicenceException(
            name,
            str(le["title"]),
            parse_meta(le, lw),
            {k: number(p, lw.at(line_of(params, k)), k) for k, p in params.items()},
        )


def _allowlists(ref: Reference, als: dict[str, Any], w: Where) -> None:
    for name, al in als.items():
        aw = w.at(line_of(als, name), f"allowlist {name}")
        al = mapping(al, aw, "allowlist")
        check_keys(
            al,
            aw,
            {"title", "models", "members", *META_KEYS},
            {"models", "members", "citation"},
            "allowlist",
        )
        meta = parse_meta(al, aw)
        ms = [str(x) for x in seq(al["models"], aw.at(line_of(al, "models")), "models")]
        for mname in ms:
            if mname not in ref.models:
                raise aw.error(f"allowlist names unknown model '{mname}' (add it under models)")
        members = _members(al["members"], aw.at(line_of(al, "members")), meta, "members", iso=False)
        ref.allowlists[name] = Allowlist(
            name, str(al.get("title", name)), tuple(ms), tuple(members), meta
        )


def _incident_clocks(ref: Reference, clocks: dict[str, Any], w: Where) -> None:
    for regime, entries in clocks.items():
        rw = w.at(line_of(clocks, regime), f"incident clock {regime}")
        lst = seq(entries, rw, "incident clocks")
        for i, c in enumerate(lst):
            cw = rw.at(item_line(lst, i))
            c = mapping(c, cw, "incident clock")
            check_keys(
                c,
                cw,
                {"event", "deadline", "every", "dates", *META_KEYS},
                {"event", "citation"},
                "incident clock",
            )
            if sum(k in c for k in ("deadline", "every", "dates")) != 1:
                raise cw.error("an incident clock needs exactly one of deadline, every, dates")
            dates = tuple(str(x) for x in seq(c.get("dates") or [], cw, "dates"))
            for md in dates:
                if not re.fullmatch(r"(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])", md):
                    raise cw.error(f"clock date {md!r} must be MM-DD")
            ref.incident_clocks.setdefault(regime, []).append(
                IncidentClock(
                    regime=regime,
                    event=str(c["event"]),
                    meta=parse_meta(c, cw),
                    deadline=parse_duration(c["deadline"], cw, "deadline")
                    if "deadline" in c
                    else None,
                    every=parse_duration(c["every"], cw, "every") if "every" in c else None,
                    dates=dates,
                )
            )


def _incident_types(ref: Reference, types: dict[str, Any], w: Where) -> None:
    for kind, it in types.items():
        iw = w.at(line_of(types, kind), f"incident type {kind}")
        it = mapping(it, iw, "incident type")
        check_keys(
            it,
            iw,
            {"title", "clocks", "imminent_clocks", *META_KEYS},
            {"clocks", "citation"},
            "incident type",
        )
        ref.incident_types[str(kind)] = IncidentType(
            kind=str(kind),
            title=str(it.get("title", kind)),
            meta=parse_meta(it, iw),
            clocks=_clock_refs(ref, it["clocks"], iw.at(line_of(it, "clocks")), "clocks"),
            imminent_clocks=_clock_refs(
                ref,
                it.get("imminent_clocks") or [],
                iw.at(line_of(it, "imminent_clocks")),
                "imminent_clocks",
            ),
        )


_SECTIONS: tuple[tuple[str, Callable[[Reference, dict[str, Any], Where], None]], ...] = (
    ("country_groups", _country_groups),
    ("tiers", _tiers),
    ("models", _models),
    ("thresholds", _thresholds),
    ("flags", _flags),
    ("licence_exceptions", _licence_exceptions),
    ("allowlists", _allowlists),
    ("incident_clocks", _incident_clocks),
    ("incident_types", _incident_types),
)
REFERENCE_KEYS = {key for key, _ in _SECTIONS} | {"default_classification"}


def parse_meta(d: dict[str, Any], where: Where, parent: Meta | None = None) -> Meta:
    """Read citation/verification/dates; a member inherits what it does not say itself."""
    cit = string(d, "citation", where, required=parent is None)
    ver = verification(d, where, parent.verification if parent else None)
    frm = to_epoch(
        d.get("effective_from"), where.at(line_of(d, "effective_from")), "effective_from"
    )
    until = to_epoch(
        d.get("effective_until"), where.at(line_of(d, "effective_until")), "effective_until"
    )
    if frm is not None and until is not None and until <= frm:
        raise where.error("effective_until must be after effective_from")
    note = d.get("note")
    return Meta(
        citation=cit or (parent.citation if parent else ""),
        verification=ver,
        effective_from=frm if frm is not None or parent is None else parent.effective_from,
        effective_until=until if until is not None or parent is None else parent.effective_until,
        note=str(note) if note is not None else None,
        line=where.line,
    )


def _members(v: Any, where: Where, parent: Meta, what: str, *, iso: bool) -> list[Member]:
    out: list[Member] = []
    for i, m in enumerate(seq(v, where, what)):
        w = where.at(item_line(v, i))
        if isinstance(m, dict):
            check_keys(m, w, {"code", *META_KEYS}, {"code"}, f"{what} entry")
            code = m["code"]
            meta = parse_meta(m, w, parent)
        else:
            code, meta = m, parent
        code = country(code, w, what) if iso else str(code)
        out.append(Member(code, meta))
    return out


_DURATION = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$")


def parse_duration(v: Any, where: Where, what: str) -> timedelta:
    """ISO 8601 durations as used for clocks: P15D, PT24H, P4W, P1DT12H."""
    m = _DURATION.match(str(v)) if v is not None else None
    if not m or not any(m.groups()):
        raise where.error(f"{what} must be an ISO 8601 duration like P15D or PT24H, got {v!r}")
    w, d, h, mi = (int(x) if x else 0 for x in m.groups())
    return timedelta(weeks=w, days=d, hours=h, minutes=mi)


def _clock_refs(ref: Reference, v: Any, where: Where, what: str) -> tuple[tuple[str, str], ...]:
    """`regime.event` names of an incident type; each must name a clock of the pack."""
    out: list[tuple[str, str]] = []
    lst = seq(v, where, what)
    for i, name in enumerate(lst):
        w = where.at(item_line(lst, i))
        regime, dot, event = str(name).partition(".")
        if not dot or not regime or not event:
            raise w.error(
                f"{what} entry {name!r} must be REGIME.EVENT, e.g. sb53.critical_safety_incident"
            )
        if ref.clock(regime, event) is None:
            raise w.error(
                f"{what} names unknown incident clock {name!r} (add it under incident_clocks)"
            )
        out.append((regime, event))
    return tuple(out)
