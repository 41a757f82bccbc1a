"""Read a model file, check it, and report any problem at its line in the file."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pydantic
import yaml

from knight.errors import ModelError
from knight.model.model import (
    AccessPattern,
    Collection,
    Entity,
    EntityKeys,
    Index,
    Model,
    SortKeyCondition,
    Unique,
)
from knight.model.schema import BASE_TABLE, UNIQUES, EntitySpec, ModelSpec
from knight.model.templates import KeyTemplate, Placeholder, TemplateError, may_begin_with, may_meet

MODEL_FILE = "sir-learn-a-lot.yaml"

Path_ = Sequence[str | int]


def default_model_path() -> Path:
    """The model shipped with knight: ``model/`` of a checkout, or the copy in the wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parents[1] / "model" / MODEL_FILE, here.parent / "_model" / MODEL_FILE):
        if candidate.is_file():
            return candidate
    raise ModelError(f"knight's model file {MODEL_FILE} is missing from the installation; reinstall knight")


def load_model(path: Path | str | None = None) -> Model:
    """Load and check a model file; raise ModelError naming the file, line and part."""
    path = Path(path) if path is not None else default_model_path()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the model file ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise ModelError(
            f"{path}: not UTF-8 text (byte {exc.start} is {exc.object[exc.start]:#04x}); a model file is YAML"
        ) from None
    return parse_model(text, path)


def parse_model(text: str, path: Path) -> Model:
    try:
        raw = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ModelError(f"{where}: not valid YAML: {problem}") from None
    located = _Locator(path, root)
    if not isinstance(raw, dict):
        raise ModelError(f"{path}:1:1: a model file is a mapping with table, indexes, entities and accessPatterns")
    try:
        spec = ModelSpec.model_validate(raw)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        more = exc.error_count() - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise ModelError(located.message(first["loc"], first["msg"]) + suffix) from None
    return _Builder(spec, path, located).build()


class _Locator:
    """Turns a path inside the model (entities.track.keys) into file:line:column."""

    def __init__(self, path: Path, root: yaml.Node | None) -> None:
        self.path = path
        self.root = root

    def message(self, where: Path_, problem: str) -> str:
        dotted = ".".join(str(part) for part in where) or "(top)"
        line, column = self._position(where)
        return f"{self.path}:{line}:{column}: {dotted}: {problem}"

    def _position(self, where: Path_) -> tuple[int, int]:
        node = self.root
        found = node
        for part in where:
            child = None
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if str(key.value) == str(part):
                        child = value if not isinstance(value, yaml.ScalarNode) else key
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
                child = node.value[part]
            if child is None:
                break
            found = node = child
        if found is None:
            return 1, 1
        return found.start_mark.line + 1, found.start_mark.column + 1


class _Builder:
    """Cross-checks the parts of a valid-looking spec and builds the Model."""

    def __init__(self, spec: ModelSpec, path: Path, located: _Locator) -> None:
        self.spec = spec
        self.path = path
        self.located = located

    def fail(self, where: Path_, problem: str) -> ModelError:
        return ModelError(self.located.message(where, problem))

    def template(self, text: str, where: Path_) -> KeyTemplate:
        try:
            return KeyTemplate(text)
        except TemplateError as exc:
            raise self.fail(where, str(exc)) from None

    def build(self) -> Model:
        indexes = self.indexes()
        type_attribute = self.spec.table.entityTypeAttribute
        if type_attribute in {name for index in indexes.values() for name in index.key_names}:
            raise self.fail(["table", "entityTypeAttribute"], "cannot be a key attribute")
        entities = {name: self.entity(name, entity_spec, indexes) for name, entity_spec in self.spec.entities.items()}
        self.relations()
        patterns = self.patterns(entities, indexes)
        uniques = self.uniques(entities, indexes, patterns)
        self.prefixes(entities, uniques)
        collections = self.collections(indexes, patterns)
        return Model(self.path, self.spec, indexes, entities, patterns, uniques, collections)

    def prefixes(self, entities: Mapping[str, Entity], uniques: Mapping[str, Unique]) -> None:
        """Every key prefix (``c#``: a key's text up to its first ``#``) is declared, and each declared one used.

        A prefix names the entity whose keys use it, or ``uniques`` for the
        marker items; another entity's key may use it too (a course's sort key
        names its track with ``t#``).
        """
        owners: dict[str, set[str]] = {}
        where: dict[str, list[str | int]] = {}
        keyed: list[tuple[str, list[str | int], EntityKeys]] = [
            (name, ["entities", name, "keys", index], keys)
            for name, entity in entities.items()
            for index, keys in entity.keys.items()
        ]
        keyed += [(UNIQUES, ["uniques", name], unique.keys) for name, unique in uniques.items()]
        for owner, at, keys in keyed:
            for part, template in (("partition", keys.partition), ("sort", keys.sort)):
                lead = template.literal_prefix if template is not None else ""
                if "#" in lead:
                    prefix = lead[: lead.index("#") + 1]
                    owners.setdefault(prefix, set()).add(owner)
                    where.setdefault(prefix, [*at, part])
        declared = self.spec.prefixes
        for prefix, at in where.items():
            if prefix not in declared:
                raise self.fail(at, f"the key prefix '{prefix}' is not declared under prefixes: say what it names")
        for prefix, owner in declared.items():
            if owner != UNIQUES and owner not in entities:
                known = ", ".join([*entities, UNIQUES])
                raise self.fail(["prefixes", prefix], f"names '{owner}', which is no entity (one of {known})")
            if owner not in owners.get(prefix, set()):
                raise self.fail(["prefixes", prefix], f"no key of {owner} begins with '{prefix}'")

    def indexes(self) -> dict[str, Index]:
        table = self.spec.table
        indexes = {BASE_TABLE: Index(BASE_TABLE, table.keys.partition, table.keys.sort)}
        used = {table.keys.partition, table.keys.sort}
        for name, index in self.spec.indexes.items():
            if name == BASE_TABLE:
                raise self.fail(["indexes", name], f"'{BASE_TABLE}' is reserved for the base table")
            if not 3 <= len(name) <= 255:
                raise self.fail(["indexes", name], "an index name has 3 to 255 characters")
            for key in (index.keys.partition, index.keys.sort):
                if key in used:
                    raise self.fail(["indexes", name, "keys"], f"'{key}' is already a key of another index")
                used.add(key)
            indexes[name] = Index(name, index.keys.partition, index.keys.sort, index.projection)
        return indexes

    def entity(self, name: str, spec: EntitySpec, indexes: dict[str, Index]) -> Entity:
        at: list[str | int] = ["entities", name]
        keys: dict[str, EntityKeys] = {}
        if BASE_TABLE not in spec.keys:
            raise self.fail([*at, "keys"], f"every entity needs keys on '{BASE_TABLE}'")
        for index_name, pair in spec.keys.items():
            where = [*at, "keys", index_name]
            if index_name not in indexes:
                raise self.fail(where, f"no index '{index_name}'; known: {', '.join(indexes)}")
            index = indexes[index_name]
            if (pair.sort is None) != (index.sort_key is None):
                raise self.fail(where, f"{index_name} has a sort key, so give 'partition' and 'sort'")
            partition = self.template(pair.partition, [*where, "partition"])
            sort = self.template(pair.sort, [*where, "sort"]) if pair.sort is not None else None
            for part, template in (("partition", partition), ("sort", sort)):
                for field_name in template.fields if template else ():
                    if field_name not in spec.fields:
                        raise self.fail(
                            [*where, part],
                            f"'{template.text if template else ''}' names field '{field_name}', "
                            f"which {name} does not have ({', '.join(spec.fields)})",
                        )
            keys[index_name] = EntityKeys(index, partition, sort)
        for i, attribute in enumerate(spec.attributes):
            if attribute not in spec.fields:
                raise self.fail([*at, "attributes", i], f"'{attribute}' is not a field of {name}")
        covered = {f for k in keys.values() for f in k.fields} | set(spec.attributes)
        for field_name in spec.fields:
            if field_name not in covered:
                raise self.fail(
                    [*at, "fields", field_name],
                    "is stored nowhere: use it in a key template or list it under attributes",
                )
        entity = Entity(
            name=name,
            description=spec.description,
            fields=spec.fields,
            keys=keys,
            attributes=tuple(spec.attributes),
            examples=tuple(spec.examples),
            type_attribute=self.spec.table.entityTypeAttribute,
            seed=spec.seed,
        )
        for i, example in enumerate(spec.examples):
            try:
                item = entity.item(example)
            except Exception as exc:
                raise self.fail([*at, "examples", i], str(exc)) from None
            if entity.values(item) != entity.check(example):
                raise self.fail([*at, "examples", i], "its keys do not read back to the same values")
        return entity

    def relations(self) -> None:
        """Each field's ``refers`` and each seed's ``per`` name an entity with an id; none depends on itself."""
        entities = self.spec.entities
        needs: dict[str, set[str]] = {}
        for name, spec in entities.items():
            at: list[str | int] = ["entities", name]
            needs[name] = set()
            for field_name, field_spec in spec.fields.items():
                target = field_spec.refers
                if target is None:
                    continue
                if target not in entities or "id" not in entities[target].fields:
                    with_ids = ", ".join(e for e, s in entities.items() if "id" in s.fields)
                    raise self.fail(
                        [*at, "fields", field_name, "refers"],
                        f"'{target}' is no entity with an id field (those with one: {with_ids})",
                    )
                needs[name].add(target)
            parent = spec.seed.per if spec.seed else None
            if parent is None:
                continue
            if not any(f.refers == parent for f in spec.fields.values()):
                raise self.fail(
                    [*at, "seed", "per"], f"no field of {name} refers to {parent}: give one `refers: {parent}`"
                )
        for name in entities:
            self._no_cycle(name, needs, [])

    def _no_cycle(self, name: str, needs: Mapping[str, set[str]], path: list[str]) -> None:
        if name in path:
            cycle = " -> ".join([*path[path.index(name) :], name])
            raise self.fail(
                ["entities", name, "fields"], f"its fields refer in a circle ({cycle}): seed data cannot start"
            )
        for target in sorted(needs[name]):
            self._no_cycle(target, needs, [*path, name])

    def patterns(self, entities: dict[str, Entity], indexes: dict[str, Index]) -> dict[int, AccessPattern]:
        patterns: dict[int, AccessPattern] = {}
        names: set[str] = set()
        for number, spec in sorted(self.spec.accessPatterns.items()):
            at: list[str | int] = ["accessPatterns", number]
            if number < 1:
                raise self.fail(at, "access patterns are numbered from 1")
            if spec.name in names:
                raise self.fail([*at, "name"], f"another pattern is already named '{spec.name}'")
            names.add(spec.name)
            if spec.entity not in entities:
                raise self.fail([*at, "entity"], f"no entity '{spec.entity}'")
            entity = entities[spec.entity]
            if spec.index not in indexes:
                raise self.fail([*at, "index"], f"no index '{spec.index}'; known: {', '.join(indexes)}")
            if spec.index not in entity.keys:
                raise self.fail([*at, "index"], f"{entity.name} has no keys on {spec.index}")
            own = entity.keys[spec.index]
            partition = self.template(spec.partition, [*at, "partition"])
            if partition != own.partition:
                raise self.fail(
                    [*at, "partition"],
                    f"'{partition.text}' differs from {entity.name}'s {spec.index} partition "
                    f"template '{own.partition.text}'",
                )
            sort = None
            if spec.sort is not None:
                sort = self.sort_condition(spec.sort.equals, spec.sort.beginsWith, own, [*at, "sort"])
            if spec.filter is not None:
                for word, attribute in (("exists", spec.filter.exists), ("notExists", spec.filter.notExists)):
                    if attribute is not None and attribute not in entity.attributes:
                        raise self.fail([*at, "filter", word], f"'{attribute}' is not an attribute of {entity.name}")
            if spec.orderBy is not None and spec.orderBy not in entity.fields:
                raise self.fail([*at, "orderBy"], f"'{spec.orderBy}' is not a field of {entity.name}")
            patterns[number] = AccessPattern(
                number=number,
                name=spec.name,
                summary=" ".join(spec.summary.split()),
                entity=entity,
                index=indexes[spec.index],
                partition=partition,
                sort=sort,
                filter_exists=spec.filter.exists if spec.filter else None,
                filter_not_exists=spec.filter.notExists if spec.filter else None,
                order_by=spec.orderBy,
            )
            self.reads_its_entity_only(patterns[number], entities.values(), at)
        return patterns

    def reads_its_entity_only(self, pattern: AccessPattern, entities: Iterable[Entity], at: Path_) -> None:
        """A pattern's key condition must not take in items of another entity: its request would read
        (and pay for) them, and they are not what it asks for."""
        sort = pattern.sort
        for other in entities:
            keys = other.keys.get(pattern.index.name)
            if other is pattern.entity or keys is None or not may_meet(pattern.partition, keys.partition):
                continue
            if sort is not None and keys.sort is not None:
                meets = (
                    may_begin_with(keys.sort, sort.template)
                    if sort.operator == "begins_with"
                    else (may_meet(keys.sort, sort.template))
                )
                if not meets:
                    continue
            theirs = keys.partition.text + (f" / {keys.sort.text}" if keys.sort else "")
            raise self.fail(
                at,
                f"its key condition ({pattern.key_condition}) also takes in {other.name} items, keyed "
                f"{theirs} on {pattern.index.name}: its request would read them too; give one of the two "
                "keys another prefix, or narrow the sort condition",
            )

    def collections(self, indexes: dict[str, Index], patterns: dict[int, AccessPattern]) -> dict[str, Collection]:
        by_name = {pattern.name: pattern for pattern in patterns.values()}
        member_of: dict[str, str] = {}
        collections: dict[str, Collection] = {}
        for name, spec in self.spec.collections.items():
            at: list[str | int] = ["collections", name]
            if spec.index not in indexes:
                raise self.fail([*at, "index"], f"no index '{spec.index}'; known: {', '.join(indexes)}")
            members: list[AccessPattern] = []
            for i, pattern_name in enumerate(spec.patterns):
                where = [*at, "patterns", i]
                pattern = by_name.get(pattern_name)
                if pattern is None:
                    raise self.fail(where, f"no access pattern '{pattern_name}'; `knight access-patterns` lists them")
                if pattern_name in member_of:
                    raise self.fail(where, f"'{pattern_name}' is already in collection '{member_of[pattern_name]}'")
                if pattern.index.name != spec.index:
                    raise self.fail(where, f"'{pattern_name}' reads {pattern.index.name}, not {spec.index}")
                if members and _shape(pattern.partition) != _shape(members[0].partition):
                    raise self.fail(
                        where,
                        f"'{pattern_name}' reads partition '{pattern.partition.text}', another partition than "
                        f"'{members[0].partition.text}' of '{members[0].name}': one Query cannot answer both",
                    )
                member_of[pattern_name] = name
                members.append(pattern)
            collections[name] = Collection(name, " ".join(spec.summary.split()), indexes[spec.index], tuple(members))
        return collections

    def uniques(
        self, entities: dict[str, Entity], indexes: dict[str, Index], patterns: dict[int, AccessPattern]
    ) -> dict[str, Unique]:
        uniques: dict[str, Unique] = {}
        table = indexes[BASE_TABLE]
        for name, spec in self.spec.uniques.items():
            at: list[str | int] = ["uniques", name]
            if name in entities:
                # The name is the marker's entityType, so it must not pass for an entity.
                raise self.fail(at, f"'{name}' is an entity name; a marker needs a type of its own")
            if spec.entity not in entities:
                raise self.fail([*at, "entity"], f"no entity '{spec.entity}'")
            entity = entities[spec.entity]
            if (spec.sort is None) != (table.sort_key is None):
                raise self.fail(at, "the table has a sort key, so give 'partition' and 'sort'")
            partition = self.template(spec.partition, [*at, "partition"])
            sort = self.template(spec.sort, [*at, "sort"]) if spec.sort is not None else None
            for part, template in (("partition", partition), ("sort", sort)):
                for field_name in template.fields if template else ():
                    if field_name not in entity.fields:
                        raise self.fail([*at, part], f"names field '{field_name}', which {entity.name} does not have")
            for i, attribute in enumerate(spec.attributes):
                if attribute not in entity.fields:
                    raise self.fail([*at, "attributes", i], f"'{attribute}' is not a field of {entity.name}")
            unique = Unique(
                name,
                " ".join(spec.summary.split()),
                entity,
                EntityKeys(table, partition, sort),
                tuple(spec.attributes),
            )
            sample = unique.key(_Samples())
            pk, sk = sample[table.partition_key], sample.get(table.sort_key or "")
            for other in entities.values():
                own = other.table_keys
                if own.partition.matches(pk) and (own.sort is None or sk is None or own.sort.matches(sk)):
                    raise self.fail([*at, "partition"], f"a marker key could be read as a {other.name} key")
            for number, pattern in patterns.items():
                if pattern.index.is_table and pattern.partition.matches(pk) and _sort_admits(pattern, sk):
                    raise self.fail([*at, "partition"], f"access pattern {number} ({pattern.name}) would read markers")
            for i, example in enumerate(entity.examples):
                try:
                    unique.item(example)
                except Exception as exc:
                    raise self.fail(["entities", entity.name, "examples", i], f"{name}: {exc}") from None
            uniques[name] = unique
        return uniques

    def sort_condition(self, equals: str | None, begins: str | None, own: EntityKeys, where: Path_) -> SortKeyCondition:
        if own.sort is None:
            raise self.fail(where, f"{own.index.name} has no sort key")
        if equals is not None:
            template = self.template(equals, [*where, "equals"])
            sample = template.render(_Samples())
            if not own.sort.matches(sample):
                raise self.fail(
                    [*where, "equals"],
                    f"'{equals}' can never equal a key made by '{own.sort.text}'",
                )
            return SortKeyCondition("equals", template)
        assert begins is not None
        template = self.template(begins, [*where, "beginsWith"])
        if template.fields:
            raise self.fail([*where, "beginsWith"], "a prefix is literal text, without {fields}")
        head = own.sort.literal_prefix
        if not (head.startswith(begins) or (begins.startswith(head) and not own.sort.is_constant)):
            raise self.fail(
                [*where, "beginsWith"],
                f"no key made by '{own.sort.text}' begins with '{begins}'",
            )
        return SortKeyCondition("begins_with", template)


def _shape(template: KeyTemplate) -> tuple[str | tuple[str, str | None], ...]:
    """A template with its field names left out: two of one shape render the same keys from the same values."""
    return tuple(("{}", part.transform) if isinstance(part, Placeholder) else part for part in template.parts)


def _sort_admits(pattern: AccessPattern, sort_key: str | None) -> bool:
    """Whether the pattern's sort-key condition lets this sort key through."""
    if pattern.sort is None or sort_key is None:
        return True
    if pattern.sort.operator == "equals":
        return pattern.sort.template.matches(sort_key)
    return sort_key.startswith(pattern.sort.template.literal_prefix)


class _Samples(dict[str, Any]):
    """Values for any field, to test whether two templates can make the same key."""

    def __missing__(self, key: str) -> str:
        return "x1"

    def get(self, key: str, default: Any = None) -> Any:  # noqa: ARG002 - dict signature
        return self[key]
