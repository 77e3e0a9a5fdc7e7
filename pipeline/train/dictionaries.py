"""``pipeline train dictionaries``: the event-data field's coding dictionaries compiled into our own artifacts.

Source: the PETRARCH2 dictionaries (openeventdata/petrarch2 @ 676801c, ``petrarch2/data/dictionaries``, MIT),
read from ``../shared/data/events/petrarch2/``, and the PLOVER editors' CAMEO -> PLOVER table
(``../shared/data/events/CAMEO2PLOVER-2021.txt``). The raw files never enter the repository; this step reads
them and writes three compact JSON files under ``pipeline/data/dictionaries/`` (gzipped), each with its
provenance (source commit, the sha256 of every file read, the command) and the MIT notice in
``pipeline/data/dictionaries/NOTICE``:

- ``actors.json.gz``: named people, organisations, armed groups and IGOs -> their CAMEO actor codes with the
  date range of each ("VLADIMIR PUTIN" -> RUSELI until 1999-08-09, RUSGOV after ...), by normalised alias.
  Our own ``pipeline/data/actors_extra.yaml`` (office-holders after the dictionaries stop, around 2016) is
  compiled into the same table and wins over the dictionaries where both name one alias.
- ``agents.json.gz``: common nouns that name an agent -> its sector code ("troops" -> MIL, "police" -> COP).
- ``verbs.json.gz``: CAMEO verbs and verb + object patterns -> PLOVER type and mode through the table, with the
  CAMEO code they carry; statements (CAMEO 01) and codes the table leaves out are not kept.

The parsing here is of the dictionaries' documented formats (``dictionaries-format.rst``); nothing is fitted
to any labelled data.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer
import yaml

import pipeline
from pipeline.enrich.dictionaries import alias_key

REPO = Path(pipeline.__file__).resolve().parents[1]
SHARED_EVENTS = REPO.parent / "shared" / "data" / "events"
SOURCE_DIR = SHARED_EVENTS / "petrarch2"
CAMEO2PLOVER = SHARED_EVENTS / "CAMEO2PLOVER-2021.txt"
OUTPUT_DIR = Path(pipeline.__file__).resolve().parent / "data" / "dictionaries"
EXTRA_ACTORS = Path(pipeline.__file__).resolve().parent / "data" / "actors_extra.yaml"
SOURCE = "openeventdata/petrarch2 @ 676801c (petrarch2/data/dictionaries), MIT licence"
TABLE_SOURCE = "openeventdata/PLOVER @ 5e0c24fba623 (CAMEO2PLOVER-2021.txt), CC BY-SA 4.0"
ACTOR_FILES = ("Phoenix.Countries.actors.txt", "Phoenix.International.actors.txt", "Phoenix.MilNonState.actors.txt")
AGENT_FILE = "Phoenix.agents.txt"
VERB_FILE = "CAMEO.2.0.txt"
FORMAT_VERSION = 1

# -- actors -----------------------------------------------------------------------------------------------


@dataclass
class ActorRecord:
    name: str
    aliases: list[str] = field(default_factory=list)
    roles: list[tuple[str, int | None, int | None]] = field(default_factory=list)  # (code, from, to) yyyymmdd
    default: str | None = None


_CODE = re.compile(r"\[([^\]\s]*)\s*([^\]]*)\]")


def _date(text: str) -> int | None:
    digits = text.strip()
    if len(digits) == 8 and digits.isdigit():
        return int(digits)
    if len(digits) == 6 and digits.isdigit():
        year = int(digits[:2])
        return (2000 + year if year <= 30 else 1900 + year) * 10_000 + int(digits[2:])
    return None


def _restriction(code: str, when: str) -> tuple[str, int | None, int | None] | None:
    when = when.strip()
    if not when:
        return (code, None, None)
    if when.startswith("<"):
        end = _date(when[1:])
        return (code, None, end) if end else None
    if when.startswith(">"):
        start = _date(when[1:])
        return (code, start, None) if start else None
    low, _, high = when.partition("-")
    start, end = _date(low), _date(high)
    return (code, start, end) if start and end else None


def _strip_comment(line: str) -> str:
    for mark in ("#", ";"):
        if mark in line:
            line = line.split(mark, 1)[0]
    return line


def parse_actors(lines: Iterable[str]) -> Iterator[ActorRecord]:
    """Records of a TABARI/PETRARCH .actors file: a primary phrase (with an optional default code), ``+``
    synonyms, then tab-indented ``[CODE date-restriction]`` lines."""
    current: ActorRecord | None = None
    for raw in lines:
        line = _strip_comment(raw).rstrip()
        if not line.strip():
            continue
        if raw[:1] in {"\t", " "} and line.strip().startswith("["):
            if current is not None:
                for code, when in _CODE.findall(line):
                    restriction = _restriction(code, when) if code else None
                    if restriction is not None:
                        current.roles.append(restriction)
            continue
        text = line.strip()
        if text.startswith("+"):
            if current is not None:
                phrase = _CODE.sub("", text[1:]).strip()
                if phrase:
                    current.aliases.append(phrase)
            continue
        if current is not None:
            yield current
        codes = _CODE.findall(text)
        phrase = _CODE.sub("", text).strip()
        current = ActorRecord(name=phrase, aliases=[phrase]) if phrase else None
        if current is not None and codes and codes[0][0]:
            current.default = codes[0][0]
    if current is not None:
        yield current


def _display_name(phrase: str) -> str:
    """ "VLADIMIR_PUTIN_" -> "Vladimir Putin"; short all-capital words stay acronyms ("UN", "NATO")."""
    words = phrase.replace("_", " ").split()
    return " ".join(w if len(w) <= 4 and len(words) == 1 else w.capitalize() if w.isalpha() else w for w in words)


def compile_actors(paths: Iterable[Path], extra: Path | None) -> dict[str, Any]:
    """Aliases -> actor index, and each actor's name, roles and default code. Where two records share an alias
    the later file wins, so our own ``extra`` file, read last, overrides the dictionaries."""
    actors: list[list[Any]] = []
    aliases: dict[str, int] = {}
    records: list[ActorRecord] = []
    for path in paths:
        with path.open(encoding="utf-8", errors="replace") as fh:
            records.extend(parse_actors(fh))
    if extra is not None and extra.exists():
        records.extend(_extra_actors(extra))
    for record in records:
        if not record.roles and not record.default:
            continue
        index = len(actors)
        roles = [[code, start, end] for code, start, end in record.roles]
        # A person's record carries dated offices (CountryInfo's leaders); a body's, one open code.
        person = any(start or end for _code, start, end in record.roles)
        actors.append([_display_name(record.name), roles, record.default, person])
        for alias in record.aliases:
            key = alias_key(alias)
            if len(key) >= 2:
                aliases[key] = index
    return {"actors": actors, "aliases": aliases}


def _extra_actors(path: Path) -> Iterator[ActorRecord]:
    """Our own additions, in YAML: ``- name: ..., aliases: [...], roles: [[CODE, from, to], ...]``."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    for item in raw:
        roles = [(str(code), _date(str(start)) if start else None, _date(str(end)) if end else None)
                 for code, start, end in item.get("roles", [])]  # fmt: skip
        yield ActorRecord(name=item["name"], aliases=[item["name"], *item.get("aliases", [])], roles=roles,
                          default=item.get("default"))  # fmt: skip


# -- agents -----------------------------------------------------------------------------------------------

_MACRO = re.compile(r"^!(\w+)!\s*=\s*(.+)$")


def compile_agents(path: Path) -> dict[str, str]:
    """Agent phrases -> sector code (``[~MIL]`` -> MIL); ``!PERSON!``-style macros and ``{plurals}`` expanded,
    regular plurals added."""
    macros: dict[str, list[str]] = {}
    agents: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = _strip_comment(raw).strip()
        if not line:
            continue
        macro = _MACRO.match(line)
        if macro:
            macros[macro.group(1)] = [w.strip() for w in macro.group(2).split(",") if w.strip()]
            continue
        code_match = re.search(r"\[([^\]]*)\]", line)
        if code_match is None:
            continue
        code = code_match.group(1).strip().strip("~")
        if not code or not code.isalpha():
            continue
        body = line[: code_match.start()]
        plural_match = re.search(r"\{([^}]*)\}", body)
        phrase = re.sub(r"\{[^}]*\}", "", body).strip()
        forms = _expand_macros(phrase, macros)
        plurals = plural_match.group(1).split() if plural_match else []
        for form in forms:
            for variant in (form, *_plurals(form)):
                agents.setdefault(alias_key(variant), code)
        for plural in plurals:
            for form in _expand_macros(plural, macros):
                agents.setdefault(alias_key(form), code)
    return agents


def _expand_macros(phrase: str, macros: dict[str, list[str]]) -> list[str]:
    match = re.search(r"!(\w+)!", phrase)
    if match is None:
        return [phrase]
    words = macros.get(match.group(1), [])
    out: list[str] = []
    for word in words:
        out.extend(_expand_macros(phrase[: match.start()] + word + phrase[match.end() :], macros))
    return out


def _plurals(phrase: str) -> list[str]:
    if not phrase or phrase.endswith("_"):
        return []
    upper = phrase.upper()
    if upper.endswith("MAN"):
        return [phrase[:-3] + "MEN"]
    if upper.endswith("Y") and upper[-2:-1] not in set("AEIOU"):
        return [phrase[:-1] + "IES"]
    if upper.endswith(("SS", "SH", "CH", "X")):
        return [phrase + "ES"]
    if upper.endswith("S"):
        return []
    return [phrase + "S"]


# -- verbs ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PloverCode:
    event_type: str
    mode: str | None


def read_cameo2plover(path: Path) -> dict[str, PloverCode]:
    """CAMEO code -> PLOVER type and mode, as the editors' table gives them."""
    table: dict[str, PloverCode] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        code, sep, rest = line.partition(":")
        if not sep or not code.strip().isdigit():
            continue
        parts = [p.strip() for p in rest.split(",")]
        if not parts or not parts[0].isalpha():
            continue
        mode = parts[1] if len(parts) > 1 and parts[1] else None
        table[code.strip()] = PloverCode(parts[0].upper(), mode.lower() if mode else None)
    return table


def plover_of(cameo: str, table: dict[str, PloverCode]) -> PloverCode | None:
    """The table's entry for a CAMEO code, or for its nearest parent. Appeals (CAMEO 02x) are the milder
    form of demands (10x) and map as those do; statements (01x) have no PLOVER type."""
    code = cameo.strip()
    if not code.isdigit() or len(code) < 2:
        return None
    if code.startswith("01"):
        return None
    lookup = "10" + code[2:] if code.startswith("02") else code
    while lookup:
        if lookup in table:
            return table[lookup]
        lookup = lookup[:-1]
        if len(lookup) < 2:
            return None
    return None


@dataclass
class VerbBlock:
    code: str | None
    # (lemma, particles, its own code: "---" for none, None to take the block's)
    verbs: list[tuple[str, tuple[str, ...], str | None]] = field(default_factory=list)
    patterns: list[tuple[str, str, str]] = field(default_factory=list)  # (verb word, body, code)


_BLOCK = re.compile(r"^---\s+(.+?)\s+\[([^\]]*)\]\s+---")


def parse_verbs(lines: Iterable[str]) -> tuple[dict[str, list[str]], list[VerbBlock]]:
    """Synsets and verb blocks of a PETRARCH verb dictionary."""
    synsets: dict[str, list[str]] = {}
    blocks: list[VerbBlock] = []
    current_set: str | None = None
    block: VerbBlock | None = None
    for raw in lines:
        comment = raw.split("#", 1)[1].strip() if "#" in raw else ""
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        head = _BLOCK.match(raw.strip())
        if head:
            code = head.group(2).strip()
            block = VerbBlock(code=None if code.startswith("-") else code)
            blocks.append(block)
            current_set = None
            continue
        text = line.strip()
        if text.startswith("&"):
            current_set = text.rstrip("_")
            synsets[current_set] = []
            continue
        if text.startswith("+") and current_set is not None and block is None:
            synsets[current_set].append(text[1:].strip())
            continue
        if block is None:
            continue
        if text.startswith("-"):
            found = re.search(r"\[([^\]]*)\]", text)
            if found:
                body = text[1 : found.start()].strip()
                verb_word = comment.split()[0] if comment else ""
                block.patterns.append((verb_word, body, found.group(1).split(":")[0].strip()))
            continue
        if text.startswith("~"):
            continue
        found = re.search(r"\[([^\]]*)\]", text)
        own = found.group(1).strip() if found else None
        word = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", text).strip()
        if not word or " " in word:
            continue
        parts = word.split("_")
        verb_at = next((i for i, p in enumerate(parts) if p.startswith("+")), 0)
        if verb_at != 0:
            continue  # a verb after its particle ("WIRE_+TAP"): rare, and the parse seldom shows it
        lemma = parts[0].lstrip("+").lower()
        particles = tuple(p.lower() for p in parts[1:])
        block.verbs.append((lemma, particles, own))  # own: its code, "---" for none, None for the block's
    return synsets, blocks


_NOUN_GROUP = re.compile(r"\{([^}]*)\}|\(([^)]*)\)|(\S+)")


_NEGATIONS = frozenset({"NO", "NOT", "NEVER", "WITHOUT", "NON"})


def _pattern_arg(body: str, synsets: dict[str, list[str]]) -> list[tuple[tuple[str, ...], tuple[str, ...]]] | None:
    """(particles, argument words) alternatives of a pattern's post-verb part: its first noun phrase (a braced
    phrase keeps its modifiers: "{MOCK ATTACK}" is not any attack) or, without one, its first prepositional
    phrase. Patterns that constrain the subject, name actors' places ($ + ^ %), negate their object ("{NO
    TROOP}": a refusal the pattern's code says, which our negation rules read for themselves) or hold nothing
    usable give None."""
    pre, star, post = body.partition("*")
    if not star or pre.strip():
        return None
    particles: tuple[str, ...] = ()
    phrase: list[str] = []
    for braced, paren, bare in _NOUN_GROUP.findall(post):
        if bare and bare in {"$", "+", "^", "%"}:
            continue
        if braced:
            phrase = braced.split()
        elif paren:
            words = paren.split()
            if len(words) >= 2:
                particles = (words[0].lower(),)
                phrase = re.sub(r"[{}]", "", " ".join(words[1:])).split()
        elif bare:
            phrase = [bare]
        if phrase:
            break
    if not phrase or any(ch in w for w in phrase for ch in "$+^%") or _NEGATIONS & {w.upper() for w in phrase}:
        return None
    *modifiers, head = phrase
    # A synonym set as a modifier ("{&MILITARY OPERATION}") is dropped: any modifier may stand there.
    kept = tuple(m.lower() for m in modifiers if not m.startswith("&") and m.isalpha())
    heads = synsets.get(head.rstrip("_"), []) if head.startswith("&") else [head]
    out = []
    for word in heads:
        last = word.replace("_", " ").split()[-1].lower() if word.strip() else ""
        if last.isalpha():
            out.append((particles, (*kept, last)))
    return out or None


# Objects too light to carry an event of their own: "took part", "continued its efforts", "took steps" are
# coded by what they are part of, effort or step towards, which these patterns cannot see.
LIGHT_OBJECTS = frozenset({
    "part", "effort", "efforts", "step", "steps", "measure", "measures", "action", "actions", "role", "move",
    "moves", "way", "ways", "position", "stance", "place", "time", "care", "note", "look", "interest", "issue",
    "issues", "matter", "thing", "plan", "plans", "decision", "initiative", "process", "work", "job", "course",
    "line", "side", "hand", "stand", "view", "power", "control", "office", "charge", "lead", "advantage", "account",
    "effect", "form", "point", "shape", "aim", "turn", "case", "level", "order", "use", "share", "rest",
})  # fmt: skip


def compile_verbs(path: Path, table: dict[str, PloverCode]) -> list[dict[str, Any]]:
    """Triggers from the verb dictionary, in our lexicon's syntax, with their PLOVER type and CAMEO code."""
    synsets, blocks = parse_verbs(path.read_text(encoding="utf-8", errors="replace").splitlines())
    out: dict[tuple[str, ...], dict[str, Any]] = {}

    def add(pattern: str, cameo: str, kind: str) -> None:
        plover = plover_of(cameo, table)
        if plover is None:
            return
        out.setdefault(
            (pattern,),
            {"pattern": pattern, "type": plover.event_type, "mode": plover.mode, "cameo": cameo, "kind": kind},
        )

    for block in blocks:
        by_word: dict[str, tuple[str, tuple[str, ...]]] = {}
        for lemma, particles, own in block.verbs:
            by_word[lemma.upper()] = (lemma, particles)
            code = block.code if own is None else (None if own.startswith("-") else own)
            if code:
                phrase = " ".join((lemma, *particles))
                add(f"{phrase}:v" if not particles else phrase, code, "verb" if own else "block-verb")
        for verb_word, body, code in block.patterns:
            if code.startswith("-"):
                continue
            named = by_word.get(verb_word.upper().split("_")[0].lstrip("+"))
            # A pattern belongs to the verb its comment names, or else to every verb of the block.
            verbs = [named] if named else [(lemma, particles) for lemma, particles, _ in block.verbs]
            args = _pattern_arg(body, synsets)
            if not args:
                continue
            for lemma, own_particles in verbs:
                for particles, arg in args:
                    if arg[-1] in LIGHT_OBJECTS:
                        continue
                    words = " ".join((lemma, *own_particles, *particles))
                    add(f"{words} > {' '.join(arg)}", code, "pattern")
    return sorted(out.values(), key=lambda v: v["pattern"])


# -- the build ----------------------------------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def provenance(files: Iterable[Path], what: str) -> dict[str, Any]:
    return {
        "what": what,
        "source": SOURCE,
        "table": TABLE_SOURCE,
        "files": {p.name: sha256_of(p) for p in files if p.exists()},
        "format_version": FORMAT_VERSION,
        "command": "pipeline train dictionaries",
        "licence": "MIT (the PETRARCH2 dictionaries); see NOTICE beside this file",
    }


def write_artifact(path: Path, payload: dict[str, Any]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")
    # mtime=0: the same input gives the same bytes.
    path.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    return path.stat().st_size


def build(source: Path = SOURCE_DIR, table_path: Path = CAMEO2PLOVER, output: Path = OUTPUT_DIR) -> dict[str, Any]:
    actor_paths = [source / name for name in ACTOR_FILES]
    missing = [p for p in (*actor_paths, source / AGENT_FILE, source / VERB_FILE, table_path) if not p.exists()]
    if missing:
        raise FileNotFoundError(", ".join(str(p) for p in missing))
    table = read_cameo2plover(table_path)
    actors = compile_actors(actor_paths, EXTRA_ACTORS)
    agents = compile_agents(source / AGENT_FILE)
    verbs = compile_verbs(source / VERB_FILE, table)
    extra = [EXTRA_ACTORS] if EXTRA_ACTORS.exists() else []
    sizes = {
        "actors.json.gz": write_artifact(
            output / "actors.json.gz",
            {"provenance": provenance([*actor_paths, *extra], "named actors"), **actors},
        ),
        "agents.json.gz": write_artifact(
            output / "agents.json.gz",
            {"provenance": provenance([source / AGENT_FILE], "agent nouns"), "agents": agents},
        ),
        "verbs.json.gz": write_artifact(
            output / "verbs.json.gz",
            {"provenance": provenance([source / VERB_FILE, table_path], "verb patterns"), "verbs": verbs},
        ),
    }
    licence = source / "LICENSE"
    notice = (
        "The files actors.json.gz, agents.json.gz and verbs.json.gz are compiled by `pipeline train dictionaries`\n"
        f"from the PETRARCH2 coding dictionaries ({SOURCE}).\nTheir licence:\n\n"
        + (licence.read_text(encoding="utf-8") if licence.exists() else "MIT\n")
    )
    (output / "NOTICE").write_text(notice, encoding="utf-8")
    return {
        "actors": len(actors["actors"]),
        "actor_aliases": len(actors["aliases"]),
        "agents": len(agents),
        "verb_triggers": len(verbs),
        "bytes": sizes,
        "output": str(output),
    }


def dictionaries_command(
    source: Path = typer.Option(SOURCE_DIR, "--source", help="PETRARCH2 dictionaries folder", show_default=False),
    table: Path = typer.Option(CAMEO2PLOVER, "--table", help="CAMEO2PLOVER table", show_default=False),
    output: Path = typer.Option(OUTPUT_DIR, "--output", help="Where the compiled files go", show_default=False),
) -> None:
    """Compile the PETRARCH2 actor, agent and verb dictionaries into pipeline/data/dictionaries/."""
    try:
        report = build(source, table, output)
    except FileNotFoundError as exc:
        raise typer.BadParameter(f"not found: {exc} (the development data lives in ../shared/data)") from None
    typer.echo(json.dumps(report, indent=2))
