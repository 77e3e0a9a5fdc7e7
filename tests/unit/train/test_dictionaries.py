"""The dictionary compiler on small texts of our own in the PETRARCH formats, and the shipped artifacts."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from pipeline.enrich.dictionaries import DICTIONARY_DIR, lookup_actor, role_on, split_code
from pipeline.train.dictionaries import (
    SOURCE_DIR,
    PloverCode,
    alias_key,
    compile_agents,
    compile_verbs,
    parse_actors,
    plover_of,
    read_cameo2plover,
    sha256_of,
)

ACTORS = """\
# comments are skipped
RUTHENIA_  [RUT]
+RUTHENIAN_

JANE_Q._DOE_  ; an invented leader
+PRESIDENT_DOE_
	[RUTELI 19900101-20091231]
	[RUTGOV >20100101]
FREEDOM_FRONT_ [RUTREB] # an invented group
"""

TABLE = """\
# an invented excerpt in the table's format
04: CONSULT
042: CONSULT, visit,   # Make a visit
10: REQUEST
103: REQUEST, assist,  # Demand aid
16: SANCTION
161: SANCTION, discontinue, # Reduce relations
"""

VERBS = """\
&FOOD_
+BREAD
+RICE

---  VISIT   [042]  ---
VISIT
TOUR [---]
- * &FOOD                                         [103]         # TOUR
- * {STATE VISIT}                                 [042]         # VISIT
- &MILITARY *                                     [042]         # VISIT
- * PART                                          [042]         # VISIT
- * {NO BREAD}                                    [1224]        # VISIT

---  CUT   [---]  ---
CUT
- * (OFF {DIPLOMATIC TIES})                       [161]         # CUT
"""


def test_actor_records_are_read_with_aliases_and_dated_roles() -> None:
    records = list(parse_actors(ACTORS.splitlines()))
    assert [r.name for r in records] == ["RUTHENIA_", "JANE_Q._DOE_", "FREEDOM_FRONT_"]
    doe = records[1]
    assert doe.aliases == ["JANE_Q._DOE_", "PRESIDENT_DOE_"]
    assert doe.roles == [("RUTELI", 19900101, 20091231), ("RUTGOV", 20100101, None)]
    assert records[2].default == "RUTREB"


def test_the_role_in_force_is_the_one_on_the_date_or_the_latest() -> None:
    roles = [["RUTELI", 19900101, 20091231], ["RUTGOV", 20100101, None]]
    assert role_on(roles, None, None) == "RUTGOV"
    from datetime import date

    assert role_on(roles, None, date(2000, 5, 1)) == "RUTELI"
    assert role_on(roles, None, date(1980, 1, 1)) is None
    assert role_on([], "RUTREB", date(1980, 1, 1)) == "RUTREB"


def test_codes_split_into_country_and_sector() -> None:
    assert split_code("RUSGOV") == ("RUS", "GOV")
    assert split_code("IGOUNO") == (None, "IGO")
    assert split_code("AFG") == ("AFG", None)


def test_aliases_are_keyed_the_way_text_is_looked_up() -> None:
    assert alias_key("U.N._SECRETARY-GENERAL") == alias_key("the UN Secretary General") == "un secretary general"


def test_agents_expand_macros_and_plurals(tmp_path: Path) -> None:
    path = tmp_path / "agents.txt"
    path.write_text("!PERSON! = MAN, WOMAN\nPOLICE {} [~COP]\nFISHER!PERSON! [~AGR]\nMILITIA [~MIL]\n")
    agents = compile_agents(path)
    assert agents["police"] == "COP" and agents["fisherman"] == agents["fishermen"] == "AGR"
    assert agents["militias"] == "MIL"


def test_verb_patterns_become_triggers_mapped_through_the_table(tmp_path: Path) -> None:
    table_path, verbs_path = tmp_path / "table.txt", tmp_path / "verbs.txt"
    table_path.write_text(TABLE)
    verbs_path.write_text(VERBS)
    table = read_cameo2plover(table_path)
    assert table["042"] == PloverCode("CONSULT", "visit")
    compiled = {v["pattern"]: (v["type"], v["mode"], v["cameo"]) for v in compile_verbs(verbs_path, table)}
    assert compiled["visit:v"] == ("CONSULT", "visit", "042")  # the block's code for its bare verb
    assert "tour:v" not in compiled  # its own null code: no event alone
    assert compiled["tour > bread"] == compiled["tour > rice"] == ("REQUEST", "assist", "103")  # a synset
    assert compiled["visit > state visit"] == ("CONSULT", "visit", "042")  # a braced phrase with its modifiers
    assert compiled["cut off > diplomatic ties"] == ("SANCTION", "discontinue", "161")  # a prepositional pattern
    assert not any(p.endswith("> part") for p in compiled)  # too light an object to carry an event
    assert not any("military" in p for p in compiled)  # patterns on the subject are not ours to read
    assert "visit > bread" not in compiled  # "{NO BREAD}" (a refusal) left out, not read as bread


def test_statements_have_no_plover_type_and_appeals_map_as_demands() -> None:
    table = {"103": PloverCode("REQUEST", "assist"), "10": PloverCode("REQUEST", None)}
    assert plover_of("010", table) is None
    assert plover_of("023", table) == PloverCode("REQUEST", "assist")
    assert plover_of("1031", table) == PloverCode("REQUEST", "assist")


def test_the_shipped_artifacts_carry_their_provenance() -> None:
    notice = (DICTIONARY_DIR / "NOTICE").read_text()
    assert "MIT" in notice and "petrarch2" in notice
    for name in ("actors.json.gz", "agents.json.gz", "verbs.json.gz"):
        provenance = json.loads(gzip.decompress((DICTIONARY_DIR / name).read_bytes()))["provenance"]
        assert provenance["source"].startswith("openeventdata/petrarch2 @ 676801c")
        assert provenance["files"] and provenance["command"] == "pipeline train dictionaries"
        if SOURCE_DIR.exists():
            for file, digest in provenance["files"].items():
                source = SOURCE_DIR / file if (SOURCE_DIR / file).exists() else SOURCE_DIR.parent / file
                if source.exists():
                    assert sha256_of(source) == digest, f"{name} was compiled from another {file}"


@pytest.mark.parametrize(
    ("alias", "country", "sector"),
    [("Hezbollah", "LBN", "REB"), ("the United Nations", None, "IGO"), ("Vladimir Putin", "RUS", "GOV")],
)
def test_the_shipped_actors_answer(alias: str, country: str | None, sector: str) -> None:
    known = lookup_actor(alias)
    assert known is not None and (known.country, known.sector) == (country, sector)
