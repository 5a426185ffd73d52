"""Parsers: every publisher quirk becomes data or a counted skip or a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from distillguard.errors import DistillguardError
from distillguard.screening.service import parse_file
from distillguard.screening.sources_common import ListFormatError, decode_bytes
from tests.screening import fixtures as fx


def test_ofac_triple_joined_on_ent_num(tmp_path: Path) -> None:
    sdn, alt, add = fx.write_ofac(tmp_path)
    res = parse_file(sdn, "ofac", alt=alt, add=add)
    by_id = {e.entry_id: e for e in res.entries}
    assert set(by_id) == {"9001", "9002", "9003", "9004", "9005"}
    zorvan = by_id["9001"]
    assert zorvan.schema == "Organization"
    assert zorvan.programs == ["IRAN", "SDGT"]
    names = [(a.name, a.kind) for a in zorvan.names]
    assert ("ZORVAN TRD", "aka") in names  # from remarks
    assert ("ZORVAN INTERNATIONAL TRADING", "aka") in names  # from alt.csv
    assert zorvan.countries == ["ir"] and "Bandar Abbas" in zorvan.addresses[0]
    kestrel = by_id["9002"]
    assert kestrel.schema == "Person"
    assert kestrel.dates_of_birth == ["12 Mar 1961"]
    assert kestrel.countries == ["ru"]
    assert ("КЕСТРЕЛ Иван", "fka") in [(a.name, a.kind) for a in kestrel.names]
    assert by_id["9004"].schema == "Vessel" and by_id["9004"].countries == ["pa"]
    assert by_id["9003"].remarks is None  # -0- is null, not a remark
    assert res.skip_reasons == {"alt: unknown ent_num": 1}


def test_ofac_cp1252_bytes_are_decoded(tmp_path: Path) -> None:
    p = tmp_path / "sdn.csv"
    p.write_bytes(
        '1,"CAF\xc9 NU\xd1EZ S.A.",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n'.encode(
            "cp1252"
        )
        + b"\x1a"
    )
    res = parse_file(p, "ofac")
    assert res.entries[0].names[0].name == "CAFÉ NUÑEZ S.A."


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"\x1a", "empty"),
        (b"\x00\x01\x02binary", "binary"),
        (b"just,some,text\nwithout,ent,nums,here\n", "no entries"),
    ],
)
def test_ofac_malformed_files_raise(tmp_path: Path, content: bytes, message: str) -> None:
    p = tmp_path / "sdn.csv"
    p.write_bytes(content)
    with pytest.raises(ListFormatError, match=message):
        parse_file(p, "ofac")


def test_mostly_unparseable_file_is_refused(tmp_path: Path) -> None:
    good = '1,"GOOD NAME",-0- ,"X",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n'
    bad = 'x,"",-0-\n' * 20
    p = tmp_path / "sdn.csv"
    p.write_text(good + bad)
    with pytest.raises(ListFormatError, match="could not be parsed"):
        parse_file(p, "ofac")


def test_un_xml(tmp_path: Path) -> None:
    res = parse_file(fx.write_un(tmp_path), "un")
    assert res.list_date == "2026-11-20"
    assert res.skip_reasons == {"empty name": 1}
    person, entity = res.entries
    assert person.names[0].name == "TAREQ OSMAN BALUCHI"
    kinds = {a.name: a.kind for a in person.names}
    assert kinds["طارق عثمان بلوشي"] == "original"
    assert kinds["Abu Tariq"] == "weak"
    assert person.countries == ["pk"] and person.dates_of_birth == ["1975-04-09"]
    assert person.start_date == "2015-01-02" and person.programs == ["QDi.900"]
    assert entity.schema == "Organization" and entity.countries == ["kp"]


def test_un_malformed(tmp_path: Path) -> None:
    p = tmp_path / "un.xml"
    p.write_text("<CONSOLIDATED_LIST><INDIVIDUALS>")
    with pytest.raises(ListFormatError, match="well-formed"):
        parse_file(p, "un")
    p.write_text("<OTHER/>")
    with pytest.raises(ListFormatError, match="root element"):
        parse_file(p, "un")


def test_csl_json_fields(tmp_path: Path) -> None:
    res = parse_file(fx.write_csl_json(tmp_path), "csl")
    assert res.skip_reasons == {"empty name": 1}
    el = res.entries[0]
    assert el.entry_id == "csl-el-1" and el.schema == "Organization"
    assert el.list_name.startswith("Entity List")
    assert el.federal_register_notice == "89 FR 12345" and el.start_date == "2024-02-01"
    assert el.source_list_url == "https://www.bis.gov/entity-list"
    assert [a.name for a in el.names] == [
        "Quillon Microelectronics GmbH",
        "Quillon Micro",
        "Квиллон Микро",
    ]
    assert el.countries == ["de"] and el.ids == ["Registration ID: HRB 9999"]
    assert "Presumption of denial." in (el.remarks or "")
    dpl = res.entries[1]
    assert dpl.schema == "Person" and dpl.dates_of_birth == ["1980-06-01"]


def test_csl_json_errors(tmp_path: Path) -> None:
    p = tmp_path / "x.json"
    p.write_text("{not json")
    with pytest.raises(ListFormatError, match="not valid JSON"):
        parse_file(p, "csl")
    p.write_text('{"results": 5}')
    with pytest.raises(ListFormatError, match="expected a list"):
        parse_file(p, "csl")
    p.write_text('{"results": []}')
    with pytest.raises(ListFormatError, match="no entries"):
        parse_file(p, "csl")


def test_csl_csv(tmp_path: Path) -> None:
    res = parse_file(fx.write_csl_csv(tmp_path), "csl")
    uvl, isn = res.entries
    assert [a.name for a in uvl.names] == [
        "Ferrowind Dynamics Ltd.",
        "Ferrowind Dynamics Limited",
        "FWD Co., Ltd.",
    ]
    assert uvl.federal_register_notice == "85 FR 1" and uvl.addresses == [
        "5 Quay St, Hong Kong, HK"
    ]
    assert isn.schema == "Person" and isn.programs == ["INKSNA"] and isn.countries == ["am"]


def test_internal_csv(tmp_path: Path) -> None:
    res = parse_file(fx.write_internal(tmp_path), "internal")
    org, person = res.entries
    assert org.entry_id == "blk-1" and [a.name for a in org.names][1:] == [
        "HGC Brokers",
        "Harrowgate Compute",
    ]
    assert person.schema == "Person" and person.countries == ["de"]
    with pytest.raises(ListFormatError, match="no 'name' column"):
        parse_file(fx.write_internal(tmp_path, "id,title\n1,x\n"), "internal")


def test_encodings() -> None:
    with pytest.raises(ListFormatError, match="not valid UTF-8"):
        decode_bytes(b"name\n\xff\xfe\xfa bad", "f.csv")
    with pytest.raises(ListFormatError, match="unknown encoding"):
        decode_bytes(b"name\n", "f.csv", encoding="klingon-8")
    assert decode_bytes("name\nZoë\n".encode("utf-16"), "f.csv") == "name\nZoë\n"
    assert decode_bytes(b"\xef\xbb\xbfname\n", "f.csv") == "name\n"
    assert decode_bytes("Zoë".encode("latin-1"), "f", encoding="latin-1") == "Zoë"


def test_parse_file_argument_errors(tmp_path: Path) -> None:
    with pytest.raises(DistillguardError, match="unknown source"):
        parse_file(tmp_path / "x", "eu")
    with pytest.raises(DistillguardError, match="no such file"):
        parse_file(tmp_path / "missing.csv", "ofac")
    p = fx.write_un(tmp_path)
    with pytest.raises(DistillguardError, match="--alt/--add"):
        parse_file(p, "un", alt=p)


def test_absurdly_long_names_are_counted_not_indexed(tmp_path: Path) -> None:
    long = "X" * 5000
    p = fx.write_internal(
        tmp_path, f"id,name,aliases\nb1,{long},Short Alias Ltd\nb2,{long},\nb3,Fine Name Gmbh,\n"
    )
    res = parse_file(p, "internal")
    assert [e.entry_id for e in res.entries] == ["b1", "b3"]
    assert [a.name for a in res.entries[0].names] == ["Short Alias Ltd"]
    assert res.skip_reasons == {"name longer than 300 characters": 2}
