"""The item layout of the table design, written out independently of the model.

Tests compare what knight writes with this, so a wrong key template in the
model file fails them even though knight builds every key from that file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
KEY_ATTRIBUTES = ("pk", "sk", "gsi1_pk", "gsi1_sk", "gsi2_pk", "gsi2_sk")


def _after(prefix: str, value: str) -> str:
    assert value.startswith(prefix), f"{value!r} should start with {prefix!r}"
    return value[len(prefix) :]


def expected_keys(item: dict[str, Any]) -> dict[str, str]:
    """The key attributes the table design prescribes for this item, from its own ids."""
    kind = item["entityType"]
    pk, sk = item["pk"], item["sk"]
    if kind == "track":
        tid = _after("t#", pk)
        return {"pk": f"t#{tid}", "sk": f"t#{tid}", "gsi1_pk": "track", "gsi1_sk": tid}
    if kind == "course":
        cid, tid = _after("c#", pk), _after("t#", sk)
        return {"pk": f"c#{cid}", "sk": f"t#{tid}", "gsi1_pk": f"t#{tid}", "gsi1_sk": f"c#{cid}"}
    if kind == "chapter":
        cid = _after("c#", pk)
        hid, version = _after("h#", sk).rsplit("#v", 1)
        return {
            "pk": f"c#{cid}",
            "sk": f"h#{hid}#v{version}",
            "gsi1_pk": f"h#{hid}",
            "gsi1_sk": f"v{version}",
        }
    if kind == "student":
        sid = _after("s#", pk)
        return {
            "pk": f"s#{sid}",
            "sk": f"s#{sid}",
            "gsi1_pk": f"s#{item['email'].lower()}",
            "gsi1_sk": f"s#{sid}",
        }
    if kind == "preference":
        sid, tid = _after("s#", pk), _after("t#", sk)
        return {"pk": f"s#{sid}", "sk": f"t#{tid}"}
    if kind == "enrollment":
        cid, eid = _after("c#", pk), _after("e#", sk)
        sid = _after("s#", item["gsi2_pk"])
        return {
            "pk": f"c#{cid}",
            "sk": f"e#{eid}",
            "gsi1_pk": f"e#{eid}",
            "gsi1_sk": f"c#{cid}",
            "gsi2_pk": f"s#{sid}",
            "gsi2_sk": f"e#{eid}",
        }
    if kind == "progress":
        sid = _after("s#", pk)
        eid, hid = _after("g#e#", sk).split("#h#")
        return {
            "pk": f"s#{sid}",
            "sk": f"g#e#{eid}#h#{hid}",
            "gsi1_pk": f"e#{eid}",
            "gsi1_sk": f"g#s#{sid}#h#{hid}",
        }
    raise AssertionError(f"unknown entityType {kind!r}")


OTHER_ATTRIBUTES = {
    "track": {"name"},
    "course": {"name"},
    "chapter": {"content"},
    "student": {"firstName", "lastName", "xp", "email"},
    "preference": set(),
    "enrollment": {"date"},
    "progress": {"chapterId", "marker", "xp"},
}


# Helper items knight adds (the design allows additions): markers that keep a
# value unique. They carry no index keys, so no access pattern reads them.
MARKERS: dict[str, Callable[[dict[str, Any]], dict[str, str]]] = {
    "student-email": lambda item: {"pk": f"u#email#{item['pk'][len('u#email#') :]}", "sk": "u#email"},
    "enrollment-once": lambda item: {"pk": item["pk"], "sk": "u#enrollment"},
}


def check_marker(item: dict[str, Any]) -> None:
    kind = item["entityType"]
    keys = {name: item[name] for name in KEY_ATTRIBUTES if name in item}
    assert keys == MARKERS[kind](item), f"{kind} marker keys differ: {item}"
    assert set(item) == {"pk", "sk", "entityType", "id"}
    assert UUID.match(item["id"])
    if kind == "student-email":
        assert item["pk"] == item["pk"].lower()
    else:
        student, course = _after("u#enrollment#s#", item["pk"]).split("#c#")
        assert UUID.match(student) and UUID.match(course)


# The stream processor's guards (allowed additions too): what it counted for each progress item,
# in partitions of their own (x#<student id>), keyed by a digest of the item's key, no index keys.
GUARD = "xpCount"


def check_guard(item: dict[str, Any]) -> None:
    assert set(item) == {"pk", "sk", "entityType", "xp"}, f"guard attributes differ: {item}"
    assert UUID.match(_after("x#", item["pk"]))
    assert re.fullmatch(r"[0-9a-f]{16}", item["sk"]), f"{item['sk']!r} is not a digest"
    assert int(item["xp"]) == item["xp"] != 0


def check_item(item: dict[str, Any]) -> None:
    """Fail unless the item has exactly the design's keys and attributes for its entity."""
    if item["entityType"] in MARKERS:
        check_marker(item)
        return
    if item["entityType"] == GUARD:
        check_guard(item)
        return
    keys = {name: item[name] for name in KEY_ATTRIBUTES if name in item}
    assert keys == expected_keys(item), f"{item['entityType']} item keys differ from the table design: {item}"
    kind = item["entityType"]
    others = set(item) - set(KEY_ATTRIBUTES) - {"entityType"}
    # The stream processor's revision of a student's xp (an allowed addition).
    additions = {"chapter": {"latest"}, "student": {"xpRevision"}}
    allowed = OTHER_ATTRIBUTES[kind] | additions.get(kind, set())
    assert others <= allowed, f"{kind} has unexpected attributes {others - allowed}"
    assert OTHER_ATTRIBUTES[kind] <= others, f"{kind} misses {OTHER_ATTRIBUTES[kind] - others}"
    if kind == "chapter":
        assert ("latest" in item) == item["sk"].endswith("#v0"), "only the v0 pointer carries latest"
    if kind == "progress":
        assert item["sk"].endswith(f"#h#{item['chapterId']}")
    for name in ("pk", "sk"):
        for part in re.split(r"[#]", item[name]):
            if len(part) == 36:
                assert UUID.match(part), f"{part!r} is not a UUID"
