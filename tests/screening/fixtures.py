"""Small invented list files in the publishers' formats (no real listed parties)."""

from __future__ import annotations

import json
from pathlib import Path

# OFAC legacy CSV: no header, -0- nulls, CRLF, trailing DOS EOF byte.
SDN = (
    b'9001,"ZORVAN TRADING CO., LTD.",-0- ,"IRAN] [SDGT",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,'
    b"\"a.k.a. 'ZORVAN TRD'.\"\r\n"
    b'9002,"KESTREL, Ivo Maximilian","individual","RUSSIA-EO14024",-0- ,-0- ,-0- ,-0- ,-0- ,'
    b'-0- ,-0- ,"DOB 12 Mar 1961; nationality Russia; Gender Male."\r\n'
    b'9003,"BLUE HERON SHIPPING LLC",-0- ,"SDGT",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n'
    b'9004,"MARLOWE STAR","vessel","IRAN",-0- ,"ABCD1","Crude Oil Tanker",-0- ,-0- ,'
    b'"Panama",-0- ,-0- \r\n'
    b'9005,"AL-QARNI, Hamdan Yusuf","individual","SDGT",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,'
    b'"DOB 1970; nationality Yemen."\r\n'
) + b"\x1a"

ALT = (
    '9001,101,"aka","ZORVAN INTERNATIONAL TRADING",-0- \r\n'
    '9002,102,"aka","KESTREL, Ivan Maksimilianovich",-0- \r\n'
    '9002,103,"fka","КЕСТРЕЛ Иван",-0- \r\n'
    '7777,104,"aka","ORPHAN ALIAS",-0- \r\n'
).encode() + b"\x1a"

ADD = (
    b'9001,201,"12 Harbour Road","Bandar Abbas","Iran",-0- \r\n'
    b'9003,202,-0- ,"Dubai","United Arab Emirates",-0- \r\n'
) + b"\x1a"

UN_XML = """<?xml version="1.0" encoding="UTF-8"?>
<CONSOLIDATED_LIST dateGenerated="2026-11-20T10:00:00.000-05:00">
 <INDIVIDUALS>
  <INDIVIDUAL><DATAID>5001</DATAID><FIRST_NAME>TAREQ</FIRST_NAME><SECOND_NAME>OSMAN</SECOND_NAME>
   <THIRD_NAME>BALUCHI</THIRD_NAME><UN_LIST_TYPE>Al-Qaida</UN_LIST_TYPE>
   <REFERENCE_NUMBER>QDi.900</REFERENCE_NUMBER><LISTED_ON>2015-01-02</LISTED_ON>
   <NAME_ORIGINAL_SCRIPT>طارق عثمان بلوشي</NAME_ORIGINAL_SCRIPT>
   <NATIONALITY><VALUE>Pakistan</VALUE></NATIONALITY>
   <INDIVIDUAL_ALIAS><QUALITY>Good</QUALITY>
    <ALIAS_NAME>Tariq Usman Baluchi</ALIAS_NAME></INDIVIDUAL_ALIAS>
   <INDIVIDUAL_ALIAS><QUALITY>Low</QUALITY><ALIAS_NAME>Abu Tariq</ALIAS_NAME></INDIVIDUAL_ALIAS>
   <INDIVIDUAL_DATE_OF_BIRTH><TYPE_OF_DATE>EXACT</TYPE_OF_DATE>
    <DATE>1975-04-09</DATE></INDIVIDUAL_DATE_OF_BIRTH>
  </INDIVIDUAL>
  <INDIVIDUAL><DATAID>5002</DATAID><FIRST_NAME></FIRST_NAME><UN_LIST_TYPE>DPRK</UN_LIST_TYPE></INDIVIDUAL>
 </INDIVIDUALS>
 <ENTITIES>
  <ENTITY><DATAID>6001</DATAID><FIRST_NAME>NORTHERN LIGHT MINING COMPANY</FIRST_NAME>
   <UN_LIST_TYPE>DPRK</UN_LIST_TYPE><REFERENCE_NUMBER>KPe.900</REFERENCE_NUMBER>
   <LISTED_ON>2017-08-05</LISTED_ON>
   <ENTITY_ALIAS><QUALITY>Good</QUALITY>
    <ALIAS_NAME>Pukkwang Mining Corp</ALIAS_NAME></ENTITY_ALIAS>
   <ENTITY_ADDRESS><CITY>Pyongyang</CITY>
    <COUNTRY>Democratic People's Republic of Korea</COUNTRY></ENTITY_ADDRESS>
  </ENTITY>
 </ENTITIES>
</CONSOLIDATED_LIST>
"""

CSL_RECORDS = [
    {
        "id": "csl-el-1",
        "source": "Entity List (EL) - Bureau of Industry and Security",
        "type": "Entity",
        "name": "Quillon Microelectronics GmbH",
        "alt_names": ["Quillon Micro", "Квиллон Микро"],
        "addresses": [{"address": "Hauptstr. 1", "city": "Berlin", "country": "DE"}],
        "programs": ["EAR"],
        "federal_register_notice": "89 FR 12345",
        "start_date": "2024-02-01",
        "end_date": None,
        "license_requirement": "For all items subject to the EAR.",
        "license_policy": "Presumption of denial.",
        "source_list_url": "https://www.bis.gov/entity-list",
        "ids": [{"type": "Registration ID", "number": "HRB 9999", "country": "DE"}],
    },
    {
        "id": "csl-dpl-2",
        "source": "Denied Persons List (DPL) - Bureau of Industry and Security",
        "type": "Individual",
        "name": "Oskar Vantablack",
        "alt_names": [],
        "programs": [],
        "federal_register_notice": "88 FR 777",
        "start_date": "2023-05-05",
        "nationalities": "DE",
        "dates_of_birth": "1980-06-01",
    },
    {"id": "csl-bad", "type": "Entity", "name": ""},
]

CSL_CSV = (
    "_id,source,entity_number,type,programs,name,title,addresses,federal_register_notice,"
    "start_date,end_date,standard_order,license_requirement,license_policy,call_sign,"
    "vessel_type,gross_tonnage,gross_registered_tonnage,vessel_flag,vessel_owner,remarks,"
    "source_list_url,alt_names,citizenships,dates_of_birth,nationalities,places_of_birth,"
    "source_information_url,ids\n"
    "c1,Unverified List (UVL) - Bureau of Industry and Security,,Entity,,Ferrowind Dynamics Ltd.,,"
    '"5 Quay St, Hong Kong, HK",85 FR 1,2020-01-01,,,,,,,,,,,,https://www.bis.gov/uvl,'
    '"Ferrowind Dynamics Limited; FWD Co., Ltd.",,,,,,\n'
    "c2,Nonproliferation Sanctions (ISN) - State Department,,Individual,INKSNA,"
    '"Petrosyan, Arman",,,84 FR 2,2019-03-03,,,,,,,,,,,,https://www.state.gov/isn,,AM,1977,,,,\n'
)

INTERNAL = (
    "id,name,schema,aliases,country,dob,remarks\n"
    "blk-1,Harrowgate Compute Brokers,Organization,HGC Brokers;Harrowgate Compute,gb,,"
    "resold model access to a blocked party\n"
    "blk-2,Sela Vornholt,Person,,de,1990-02-02,\n"
)


def write_ofac(d: Path) -> tuple[Path, Path, Path]:
    d.mkdir(parents=True, exist_ok=True)
    paths = d / "sdn.csv", d / "alt.csv", d / "add.csv"
    for p, data in zip(paths, (SDN, ALT, ADD), strict=True):
        p.write_bytes(data)
    return paths


def write_un(d: Path) -> Path:
    p = d / "un.xml"
    p.write_text(UN_XML, encoding="utf-8")
    return p


def write_csl_json(d: Path, records: list[dict[str, object]] | None = None) -> Path:
    p = d / "csl.json"
    p.write_text(json.dumps({"results": records if records is not None else CSL_RECORDS}))
    return p


def write_csl_csv(d: Path) -> Path:
    p = d / "csl.csv"
    p.write_text(CSL_CSV, encoding="utf-8")
    return p


def write_internal(d: Path, text: str = INTERNAL) -> Path:
    p = d / "internal.csv"
    p.write_text(text, encoding="utf-8")
    return p
