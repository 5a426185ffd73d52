"""Cross-script name check: Han / Kana / Hangul spellings against Latin ones.

Why a separate check: the benchmark's only cross-script positives are the 81 spellings of
one name, and the scorer must not be tuned on those. This check uses other people's names,
written down from general knowledge (the Latin form an English-language list would carry,
the script forms used by the Korean, Japanese and Chinese press), plus the multi-script
lines of the shared `opensanctions_rigour_sample_names.csv` (read at run time, by line).

Two sets: DEV (looked at while building the cross-script key) and HELDOUT (scored only to
report). Negatives: every script name against the Latin name of every *other* person of
the same set, so a key that makes everything look alike shows up as false matches.

    .venv/bin/python bench/screening/crossscript.py [--logic-v2]
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1].parent / "shared" / "data" / "screening"
NK_PY = HERE.parent / ".venv-nomenklatura" / "bin" / "python"

# (script spelling, Latin spelling); one Latin spelling per person
DEV: list[tuple[str, str]] = [
    ("김정일", "Kim Jong Il"),
    ("문재인", "Moon Jae-in"),
    ("반기문", "Ban Ki-moon"),
    ("도널드 트럼프", "Donald Trump"),
    ("버락 오바마", "Barack Obama"),
    ("ドナルド・トランプ", "Donald Trump"),
    ("バラク・オバマ", "Barack Obama"),
    ("セルゲイ・ラブロフ", "Sergey Lavrov"),
    ("唐纳德·特朗普", "Donald Trump"),
    ("巴拉克·奥巴马", "Barack Obama"),
    ("谢尔盖·拉夫罗夫", "Sergey Lavrov"),
    ("毛泽东", "Mao Zedong"),
    ("邓小平", "Deng Xiaoping"),
    ("蔡英文", "Tsai Ing-wen"),
]

HELDOUT: list[tuple[str, str]] = [
    ("김정은", "Kim Jong Un"),
    ("김일성", "Kim Il Sung"),
    ("윤석열", "Yoon Suk Yeol"),
    ("이명박", "Lee Myung-bak"),
    ("최룡해", "Choe Ryong Hae"),
    ("김여정", "Kim Yo Jong"),
    ("앙겔라 메르켈", "Angela Merkel"),
    ("조 바이든", "Joe Biden"),
    ("오사마 빈 라덴", "Osama bin Laden"),
    ("アンゲラ・メルケル", "Angela Merkel"),
    ("オサマ・ビン・ラディン", "Osama bin Laden"),
    ("ジョー・バイデン", "Joe Biden"),
    ("キム・ジョンウン", "Kim Jong Un"),
    ("アリー・ハーメネイー", "Ali Khamenei"),
    ("安格拉·默克尔", "Angela Merkel"),
    ("奥萨马·本·拉登", "Osama bin Laden"),
    ("李克强", "Li Keqiang"),
    ("胡锦涛", "Hu Jintao"),
    ("温家宝", "Wen Jiabao"),
    ("乔·拜登", "Joe Biden"),
    ("阿里·哈梅内伊", "Ali Khamenei"),
    ("巴沙尔·阿萨德", "Bashar al-Assad"),
    ("马英九", "Ma Ying-jeou"),
]

# lines (1-based, header = line 1) of opensanctions_rigour_sample_names.csv in a non-Latin
# script, with the Latin spelling of the same person
SAMPLE_LINES: dict[str, str] = {
    "习近平": "Xi Jinping",
    "習近平": "Xi Jinping",
    "김민석": "Kim Min-seok",
    "박근혜": "Park Geun-hye",
    "미치 매코널": "Mitch McConnell",
    "ミッチ・マコーネル": "Mitch McConnell",
    "米奇·麥康諾": "Mitch McConnell",
    "维克托·亚历山德罗维奇·卢卡申科": "Viktor Aleksandrovich Lukashenko",
    "维克托·卢卡申科": "Viktor Lukashenko",
    "卢拉玛·克辛瓜纳": "Lulama Xingwana",
    "高市早苗": "Sanae Takaichi",
}


def sample_pairs() -> list[tuple[str, str]]:
    """SAMPLE_LINES pairs whose script name is present in the shared file (else skipped)."""
    path = DATA / "opensanctions_rigour_sample_names.csv"
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as fh:
        present = {row[0] for row in csv.reader(fh) if row}
    return [(s, latin) for s, latin in SAMPLE_LINES.items() if s in present]


def build(pairs: list[tuple[str, str]]) -> list[tuple[str, str, bool]]:
    latins = sorted({latin for _, latin in pairs})
    rows = [(s, latin, True) for s, latin in pairs]
    for s, latin in pairs:
        rows.extend((s, other, False) for other in latins if other != latin)
    return rows


def ours(rows: list[tuple[str, str, bool]]) -> list[float]:
    sys.path.insert(0, str(HERE.parents[1] / "src"))
    from distillguard.screening import score_pair

    return [score_pair(a, b, "Person") for a, b, _ in rows]


def logic_v2(rows: list[tuple[str, str, bool]]) -> list[float]:
    inp = "".join(
        json.dumps({"name1": a, "name2": b, "schema": "Person"}) + "\n" for a, b, _ in rows
    )
    out = subprocess.run(
        [str(NK_PY), str(HERE / "nk_score.py"), "logic-v2"],
        input=inp,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return [json.loads(x)["score"] for x in out if '"score"' in x]


def summary(rows: list[tuple[str, str, bool]], scores: list[float], t: float) -> dict[str, object]:
    pos = [s for (_, _, y), s in zip(rows, scores, strict=True) if y]
    neg = [s for (_, _, y), s in zip(rows, scores, strict=True) if not y]
    hits = sum(s >= t for s in pos)
    fps = sum(s >= t for s in neg)
    return {
        "threshold": t,
        "positives": len(pos),
        "recall": round(hits / max(len(pos), 1), 4),
        "negatives": len(neg),
        "false_matches": fps,
    }


# Persons of the check sets who are on the shared lists (SDN 2024 / UN 2018), with a word of
# the listed name that the top hit must carry: retrieval through the whole index.
LISTED: list[tuple[str, str]] = [
    ("김정은", "KIM JONG UN"),
    ("キム・ジョンウン", "KIM JONG UN"),
    ("최룡해", "CHOE RYONG HAE"),
    ("김여정", "KIM YO JONG"),
    ("アリー・ハーメネイー", "KHAMENEI"),
    ("阿里·哈梅内伊", "KHAMENEI"),
    ("巴沙尔·阿萨德", "AL-ASSAD"),
    ("维克托·卢卡申科", "LUKASHENKA"),  # the SDN spells it the Belarusian way
    ("セルゲイ・ラブロフ", "LAVROV"),
    ("谢尔盖·拉夫罗夫", "LAVROV"),
]

_KO_FAMILY = "김이박최정강조윤장임한오서신권황안송류홍"
_KO_GIVEN = "민서준지현우예도하수영진은성재유연호동혜경희주원승태상철광"
_ZH_FAMILY = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_ZH_GIVEN = "伟芳娜秀敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂华建国文辉玉兰"
_KANA = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモラリルレロ"


def synthetic(n: int, seed: int = 7) -> list[str]:
    """Generated names (not real people): Korean and Chinese native names, kana strings."""
    import random

    rnd = random.Random(seed)
    out: list[str] = []
    for i in range(n):
        kind = i % 3
        sep = " " if i % 2 else ""  # native names written whole or family name apart
        if kind == 0 and i % 4 == 3:  # Western order, two given names, family name last
            given = ["".join(rnd.choices(_KO_GIVEN, k=2)) for _ in range(rnd.choice((1, 2)))]
            out.append(" ".join([*given, rnd.choice(_KO_FAMILY)]))
        elif kind == 0:
            out.append(rnd.choice(_KO_FAMILY) + sep + "".join(rnd.choices(_KO_GIVEN, k=2)))
        elif kind == 1:
            given = "".join(rnd.choices(_ZH_GIVEN, k=rnd.choice((1, 2))))
            out.append(rnd.choice(_ZH_FAMILY) + sep + given)
        else:
            words = ["".join(rnd.choices(_KANA, k=rnd.randint(3, 5))) for _ in range(2)]
            out.append("・".join(words))
    return out


def screen_check(n_synth: int) -> dict[str, object]:
    sys.path.insert(0, str(HERE.parents[1] / "src"))
    sys.path.insert(0, str(HERE))
    from cases import load_lists

    from distillguard.screening.index import NameIndex
    from distillguard.screening.matcher import Matcher, Query
    from distillguard.screening.normalize import normalize
    from distillguard.screening.score import cross_script_similarity

    ofac, un, _ = load_lists(DATA)
    ix = NameIndex()
    for e in ofac + un:
        ix.add(e)
    ix.finalize()
    m = Matcher(ix)
    t = m.config.threshold
    found = 0
    for name, want in LISTED:
        hits = m.score_candidates(Query(name, "Person"))
        top = hits[0] if hits else None
        words = set(top.caption.upper().replace(",", " ").split()) if top else set()
        ok = top is not None and top.score >= t and set(want.split()) <= words
        found += ok
        print(
            f"  listed {'ok ' if ok else 'MISS'} {name} -> {top.caption if top else '-'}"
            f" {top.score if top else ''}"
        )
    synth = synthetic(n_synth)
    false_hits = by_cross = 0
    cpu: list[float] = []
    for name in synth:
        c0 = time.thread_time()
        hits = [h for h in m.score_candidates(Query(name, "Person")) if h.score >= t]
        cpu.append(time.thread_time() - c0)
        if hits:
            false_hits += 1
            xs = cross_script_similarity(
                normalize(name, "Person"), normalize(hits[0].matched_alias, "Person")
            )
            by_cross += xs >= t
            print(
                f"  synthetic hit {name} -> {hits[0].caption} / {hits[0].matched_alias}"
                f" {hits[0].score} (cross-script {xs:.3f})"
            )
    return {
        "listed_found_at_top": f"{found}/{len(LISTED)}",
        "synthetic_queries": len(synth),
        "synthetic_hits": false_hits,
        "synthetic_hits_by_cross_script_score": by_cross,
        "synthetic_screen_cpu_ms_p50": round(sorted(cpu)[len(cpu) // 2] * 1e3, 2),
        "synthetic_screen_cpu_ms_p99": round(sorted(cpu)[int(len(cpu) * 0.99)] * 1e3, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--logic-v2", action="store_true", help="also score with nomenklatura")
    ap.add_argument("--show", action="store_true", help="print every positive's score")
    ap.add_argument(
        "--index",
        type=int,
        default=0,
        metavar="N",
        help="also screen the listed persons and N synthetic names against the lists",
    )
    args = ap.parse_args()
    sets = {"dev": DEV, "heldout": HELDOUT + sample_pairs()}
    report: dict[str, object] = {}
    for name, pairs in sets.items():
        rows = build(pairs)
        sc = ours(rows)
        report[f"{name}/ours"] = summary(rows, sc, 0.86)
        if args.show:
            for (a, b, y), s in zip(rows, sc, strict=True):
                if y or s >= 0.86:
                    print(f"  {name} {'+' if y else '-'} {s:.3f}  {a} | {b}")
        if args.logic_v2 and NK_PY.exists():
            report[f"{name}/logic-v2"] = summary(rows, logic_v2(rows), 0.7)
    if args.index:
        report["index"] = screen_check(args.index)
    print(json.dumps(report, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
