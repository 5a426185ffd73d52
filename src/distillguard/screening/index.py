"""The in-process candidate index: every alias of every entry, no search server.

Why: yente needs Elasticsearch (4-16 GB) to find ~10-50 candidates per query; the lists
fit in a few hundred MB of Python dicts. Every alias is normalised once at build time and
its name parts go into an inverted index with fuzzy side doors, so that a query part finds
listed parts that are
- equal,
- one edit away (symmetric delete-1 keys, the SymSpell trick: no scan of the vocabulary),
- spelt by another transliteration convention (`fold`) or sounding alike (metaphone),
- consonant-skeleton equal (for queries written in non-Latin scripts),
- written as two parts on one side and one on the other ("abdul hai" / "abdulhai"), or
- for queries in Han, Kana or Hangul: cross-script key equal (crossscript.py), for single
  parts and for two adjacent parts ("김정은" -> family "kim", given "jong un").
Candidate names are ranked by the summed inverse document frequency of the query parts
they share, so rare name parts decide, and only the best few are scored in full.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from rigour.text.phonetics import metaphone

from distillguard.screening.crossscript import latin_key
from distillguard.screening.model import ListEntry
from distillguard.screening.normalize import NormName, fold, skeleton, try_normalize

_MAX_POSTINGS = 20_000  # postings visited per query: common parts are skipped beyond this
_MAX_WEAK_VARIANTS = 40  # a phonetic or skeleton key shared by more listed parts is skipped
_MAX_CROSS_VARIANTS = 150  # same for cross-script keys (coarser: only for CJK queries)
_EMPTY_IDS = np.zeros(0, dtype=np.int32)
_EMPTY_W = np.zeros(0, dtype=np.float32)


def _deletes(token: str) -> list[str]:
    if len(token) < 4:
        return []
    return [token[:i] + token[i + 1 :] for i in range(len(token))]


@dataclass(slots=True)
class IndexedName:
    entry: int
    name: NormName
    kind: str


class NameIndex:
    """Aliases of all loaded entries with token, delete-1, fold, phonetic and skeleton keys."""

    def __init__(self) -> None:
        self.entries: list[ListEntry] = []
        self.entry_hashes: list[str] = []
        self.entry_snapshots: list[int] = []
        self.names: list[IndexedName] = []
        self.skipped_names = 0
        self._postings: dict[str, list[int]] = defaultdict(list)
        self._concat: dict[str, list[int]] = defaultdict(list)
        self._deletes: dict[str, list[str]] = defaultdict(list)
        self._folds: dict[str, set[str]] = defaultdict(set)
        self._phon: dict[str, set[str]] = defaultdict(set)
        self._skel: dict[str, set[str]] = defaultdict(set)
        self._xkey: dict[str, list[str]] = defaultdict(list)
        self._xkey_del: dict[str, list[str]] = defaultdict(list)
        self._xkey_concat: dict[str, list[str]] = defaultdict(list)
        self._concat_parts: dict[str, tuple[str, str]] = {}
        self._idf: dict[str, float] = {}
        self._arrays: dict[str, np.ndarray] = {}
        self._concat_arrays: dict[str, np.ndarray] = {}
        self._ntok: np.ndarray = np.zeros(0, dtype=np.float32)

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, entry: ListEntry, *, snapshot_id: int = 0, entry_hash: str = "") -> int:
        """Index one entry and all its aliases; return how many aliases were indexed."""
        idx = len(self.entries)
        self.entries.append(entry)
        self.entry_hashes.append(entry_hash or entry.content_hash())
        self.entry_snapshots.append(snapshot_id)
        schema = entry.schema
        seen: set[tuple[str, ...]] = set()
        added = 0
        for alias in entry.names:
            norm = try_normalize(alias.name, schema)
            if norm is None:
                self.skipped_names += 1
                continue
            key = norm.texts + norm.legal_forms
            if key in seen:
                continue
            seen.add(key)
            nid = len(self.names)
            self.names.append(IndexedName(idx, norm, alias.kind))
            added += 1
            texts = norm.texts
            for t in set(texts):
                self._postings[t].append(nid)
            for a, b in pairwise(texts):
                self._concat[a + b].append(nid)
                if a.isalpha() and b.isalpha():
                    self._concat_parts.setdefault(a + b, (a, b))
        return added

    def finalize(self) -> None:
        """Build the fuzzy side doors and document frequencies after the last `add`."""
        n = max(len(self.names), 1)
        self._arrays = {k: np.asarray(v, dtype=np.int32) for k, v in self._postings.items()}
        self._ntok = np.asarray([len(x.name.tokens) for x in self.names], dtype=np.float32)
        self._concat_arrays = {k: np.asarray(v, dtype=np.int32) for k, v in self._concat.items()}
        for tok, posting in self._postings.items():
            self._idf[tok] = math.log(1.0 + n / len(posting))
            for d in set(_deletes(tok)):
                self._deletes[d].append(tok)
            self._folds[fold(tok)].add(tok)
            if tok.isalpha():
                if len(tok) > 2:
                    self._phon[metaphone(tok)].add(tok)
                sk = skeleton(tok)
                if len(sk) >= 3:
                    self._skel[sk].add(tok)
                xk = latin_key(tok)
                self._xkey[xk].append(tok)
                if len(xk) >= 4:
                    for d in {xk[:i] + xk[i + 1 :] for i in range(len(xk))}:
                        self._xkey_del[d].append(tok)
        for cat, (a, b) in self._concat_parts.items():
            self._xkey_concat[latin_key(a) + latin_key(b)].append(cat)

    # -- retrieval ----------------------------------------------------------------------
    def _variants(self, tok: str, phonetic: str, skel: str, cross: bool) -> dict[str, float]:
        """Listed parts that a query part may stand for, with a retrieval confidence."""
        out: dict[str, float] = {}
        if tok in self._arrays:
            out[tok] = 1.0
        for v in self._deletes.get(tok, ()):
            out.setdefault(v, 0.8)
        for d in _deletes(tok):
            if d in self._arrays:
                out.setdefault(d, 0.8)
            for v in self._deletes.get(d, ()):
                out.setdefault(v, 0.7)
        for v in self._folds.get(fold(tok), ()):
            out.setdefault(v, 0.9)
        # weak keys shared by many different parts do not help to find anything
        phon = self._phon.get(phonetic, ()) if phonetic else ()
        if len(phon) <= _MAX_WEAK_VARIANTS:
            for v in phon:
                if v[:1] == tok[:1]:
                    out.setdefault(v, 0.6)
        sk = self._skel.get(skel, ()) if cross and len(skel) >= 3 else ()
        if len(sk) <= _MAX_WEAK_VARIANTS:
            for v in sk:
                out.setdefault(v, 0.6)
        return out

    def _cross_hits(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """(name ids, evidence) of names with a part, or two adjacent parts, of this key."""
        if len(key) < 2:
            return _EMPTY_IDS, _EMPTY_W
        # exact key, then keys one edit away (delete keys on both sides, as for the text)
        # for keys of four or more classes: transcriptions lose or change a consonant
        found: dict[str, float] = dict.fromkeys(self._xkey.get(key, ()), 1.0)
        if len(key) >= 4:
            near: set[str] = set(self._xkey_del.get(key, ()))
            for d in {key[:i] + key[i + 1 :] for i in range(len(key))}:
                near.update(self._xkey.get(d, ()))
                near.update(self._xkey_del.get(d, ()))
            if len(near) <= _MAX_WEAK_VARIANTS:
                for v in near:
                    found.setdefault(v, 0.7)
        ids: list[np.ndarray] = []
        weights: list[float] = []
        if len(found) <= _MAX_CROSS_VARIANTS:
            for v, conf in found.items():
                ids.append(self._arrays[v])
                # capped: a rare listed part must not outrank names matching every part
                weights.append(min(self._idf[v], 3.0) * conf)
        cats = self._xkey_concat.get(key, ())
        if len(cats) <= _MAX_CROSS_VARIANTS:
            for cat in cats:
                ids.append(self._concat_arrays[cat])
                weights.append(3.0)
        if not ids:
            return _EMPTY_IDS, _EMPTY_W
        w = np.repeat(np.asarray(weights, dtype=np.float32), [len(x) for x in ids])
        return np.concatenate(ids), w

    def _cross_candidates(self, query: NormName, totals: np.ndarray) -> None:
        """Listed Latin names whose parts' cross-script keys match a Han/Kana/Hangul query.

        A native name written as one word ("김정은") counts only for names that match both
        its family name (first syllable) and its given name (the rest)."""
        keys = query.xkeys
        for tk in query.tokens:
            x = tk.x
            if x is None:
                continue
            np.add.at(totals, *self._cross_hits(x.key))
            if x.native and x.key.startswith(x.head) and len(x.key) > len(x.head):
                giv_ids, giv_w = self._cross_hits(x.key[len(x.head) :])
                if len(x.head) < 2:  # family names such as 이 or 최 have no usable key
                    np.add.at(totals, giv_ids, 0.5 * giv_w)
                    continue
                fam_ids, fam_w = self._cross_hits(x.head)
                both = np.intersect1d(fam_ids, giv_ids)
                np.add.at(totals, both, 3.0)
                for ids, w in ((fam_ids, fam_w), (giv_ids, giv_w)):
                    sel = np.isin(ids, both)
                    np.add.at(totals, ids[sel], w[sel])
        if len(keys) == 2:  # two parts with short keys ("阿里·哈梅内伊"), as a pair, both orders
            np.add.at(totals, *self._cross_hits(keys[0] + keys[1]))
            np.add.at(totals, *self._cross_hits(keys[1] + keys[0]))

    def candidates(self, query: NormName, limit: int = 20) -> list[int]:
        """Ids of the `limit` names sharing the most (rare) name parts with the query.

        Scores accumulate in a numpy vector over all names (one vectorised add per posting
        list), so common name parts cost microseconds, not a Python loop per posting.
        """
        totals = np.zeros(len(self.names), dtype=np.float32)
        toks = query.tokens
        cross = query.loose_vowels
        plans: list[tuple[int, str, dict[str, float]]] = []
        for tk in toks:
            if len(tk.text) < 2 and len(toks) > 1:
                continue
            variants = self._variants(tk.text, tk.phonetic, tk.skeleton, cross)
            size = sum(len(self._arrays[v]) for v in variants)
            plans.append((size, tk.text, variants))
        plans.sort(key=lambda x: x[0])
        visited = 0
        for i, (size, text, variants) in enumerate(plans):
            if i > 0 and visited + size > _MAX_POSTINGS:
                continue  # a very common part: the rarer parts already chose the candidates
            visited += size
            # A name rarely holds two variants of one query part, so plain sums suffice.
            for v, conf in variants.items():
                totals[self._arrays[v]] += self._idf[v] * conf
            cat_ids = self._concat_arrays.get(text)
            if cat_ids is not None:
                totals[cat_ids] += 3.0
        for a, b in pairwise(toks):
            cat = a.text + b.text
            if cat in self._arrays:
                totals[self._arrays[cat]] += self._idf[cat]
        if query.xscript:
            self._cross_candidates(query, totals)
        hit = np.flatnonzero(totals)
        # among equally good candidates prefer those of the query's length: a query's
        # exact alias must not lose its place to longer names that merely contain it
        scores = totals[hit] - 0.25 * np.abs(self._ntok[hit] - len(toks))
        totals[hit] = np.maximum(scores, 1e-6)
        if len(hit) > limit:
            top = np.argpartition(totals[hit], -limit)[-limit:]
            hit = hit[top]
        order = np.argsort(-totals[hit], kind="stable")
        return [int(x) for x in hit[order]]
