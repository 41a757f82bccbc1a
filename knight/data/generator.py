"""Seed data for any model, made from what its entities and fields say.

An entity's ``seed`` says how many items to make: ``count`` per scale for an
entity that stands alone, or ``count: [fewest, most]`` for each item of the
entity named by ``per``. Without one, an entity that refers to another is made
``[0, 3]`` per item of the first entity it refers to, and any other 10 per
scale.

A field's value comes from its type and options: an id in its format; a
``refers`` field takes the id of an item already made (the parent's, for the
field that refers to ``per``; a field the parent has too, referring to the
same entity, is copied from it, so that an order line names its order's
customer); ``faker`` names the Faker provider of a string or an email (else
one is chosen by the field's name); ``range`` bounds an int; ``choices`` lists
a string's values, dealt in a shuffled order so that each comes before any
comes twice. An optional field is left out of a third of the items.
Values that the table's primary key or a ``uniques`` marker must keep unique
are drawn again when taken; an item that cannot be made unique is not made.
The same model, scale and random seed give the same data.
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from knight.data.seed_data import SeedData
from knight.errors import ValidationError
from knight.extras import missing_extra
from knight.model import Entity, Model
from knight.model.schema import FieldSpec

if TYPE_CHECKING:
    from faker import Faker

DEFAULT_COUNT = 10
"""Items per scale of an entity with no seed that refers to no other."""
DEFAULT_CHILDREN = (0, 3)
"""Items per parent of an entity with no seed that refers to another."""
MAX_ITEMS = 300_000
"""The most items a seed may be expected to make: they are made in memory before they are written."""
TRIES = 20
"""Draws of an item's values before it is given up as impossible to make unique."""
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_NOT_IN_ID = re.compile(r"[#\s]")

# Faker providers for strings, by the field's name in lower case: what a reader expects to see there.
PROVIDERS = {
    "name": "name",
    "fullname": "name",
    "firstname": "first_name",
    "lastname": "last_name",
    "username": "user_name",
    "company": "company",
    "city": "city",
    "country": "country",
    "address": "street_address",
    "street": "street_name",
    "phone": "phone_number",
    "url": "url",
    "website": "url",
    "colour": "color_name",
    "color": "color_name",
    "job": "job",
    "word": "word",
    "tag": "word",
    "category": "word",
}
SENTENCES = ("title", "subject", "headline", "label", "caption")
PARAGRAPHS = ("description", "content", "body", "text", "summary", "comment", "message", "bio", "notes")


@dataclass(frozen=True)
class Extension:
    """What a model's own seed code adds, for data its fields and counts cannot describe.

    The generic generator makes every other entity first; then ``make`` adds
    the entities in ``makes`` through the ``Maker``, with the same random state.
    """

    makes: frozenset[str]
    make: Callable[[Maker], None]
    per_scale: float = 0.0
    """About how many items it adds per scale (for the progress bar)."""


@dataclass(frozen=True)
class Plan:
    """How one entity's items are made: how many, and under which parent."""

    entity: Entity
    count: tuple[int, int]
    per: str | None
    link: str | None
    """The field that takes the parent's id."""
    inherited: frozenset[str]
    """The fields copied from the parent: it has them too, referring to the same entities."""


def plans(model: Model, leave: frozenset[str] = frozenset()) -> list[Plan]:
    """Each entity's plan, every entity after those it refers to; none for the entities in ``leave``."""
    made: list[Plan] = []
    done: set[str] = set(leave)

    def visit(name: str) -> None:
        if name in done:
            return
        done.add(name)  # the loader refuses circles, so a second visit is never a cycle in progress
        entity = model.entity(name)
        for target in _targets(entity):
            visit(target)
        made.append(_plan(model, entity))

    for name in model.entities:
        visit(name)
    return made


def _targets(entity: Entity) -> list[str]:
    return [spec.refers for spec in entity.fields.values() if spec.refers is not None]


def _plan(model: Model, entity: Entity) -> Plan:
    seed = entity.seed
    per = seed.per if seed is not None else next(iter(_targets(entity)), None)
    if seed is not None:
        count = seed.count if isinstance(seed.count, tuple) else (seed.count, seed.count)
    else:
        count = DEFAULT_CHILDREN if per is not None else (DEFAULT_COUNT, DEFAULT_COUNT)
    if per is None:
        return Plan(entity, count, None, None, frozenset())
    link = next(name for name, spec in entity.fields.items() if spec.refers == per)
    parent = model.entity(per).fields
    inherited = frozenset(
        name
        for name, spec in entity.fields.items()
        if name != link and spec.refers is not None and name in parent and parent[name].refers == spec.refers
    )
    return Plan(entity, count, per, link, inherited)


def expected_items(model: Model, scale: int, extension: Extension | None = None) -> float:
    """How many items a seed of this scale makes on average (before any is given up)."""
    expected: dict[str, float] = {}
    for plan in plans(model, extension.makes if extension else frozenset()):
        mean = sum(plan.count) / 2
        expected[plan.entity.name] = mean * (expected[plan.per] if plan.per else scale)
    return sum(expected.values()) + (extension.per_scale * scale if extension else 0)


def generate_for(
    model: Model,
    scale: int = 1,
    random_seed: int = 1,
    *,
    on_item: Callable[[int], object] | None = None,
    extension: Extension | None = None,
) -> SeedData:
    """Make the seed's field values for any model; pure and deterministic.

    ``on_item`` is called with 1 after each item made; ``extension`` adds what the model's fields cannot say.
    """
    expected = expected_items(model, scale, extension)
    if expected > MAX_ITEMS:
        raise ValidationError(
            f"scale {scale} of {model.table_name} makes about {expected:,.0f} items; "
            f"a seed makes at most {MAX_ITEMS:,}: choose a smaller scale or smaller counts"
        )
    leave = extension.makes if extension else frozenset()
    generic = plans(model, leave)
    for plan in generic:
        if wanting := sorted(set(_targets(plan.entity)) & leave):
            raise ValidationError(
                f"{plan.entity.name} refers to {', '.join(wanting)}, which the seed extension makes after it"
            )
    maker = Maker(model, random_seed, on_item)
    for plan in generic:
        maker.check_providers(plan.entity)
    for plan in generic:
        parents = maker.made[plan.per] if plan.per else [None]
        for parent in parents:
            low, high = plan.count
            wanted = maker.rng.randint(low, high) * (1 if plan.per else scale)
            for _ in range(wanted):
                maker.make(plan, parent)
    if extension is not None:
        extension.make(maker)
    return maker.data


def _faker() -> Faker:
    # Imported here: Faker comes with the "local" extra, and the library imports this module without it.
    try:
        from faker import Faker
    except ImportError as exc:
        raise missing_extra("seed data", "local", exc.name) from None
    return Faker("en_US")


class Maker:
    """The random state of one seed, the items made so far, and the keys they took."""

    def __init__(self, model: Model, random_seed: int, on_item: Callable[[int], object] | None = None) -> None:
        self.model = model
        self.rng = random.Random(random_seed)
        self.fake = _faker()
        self.fake.seed_instance(random_seed)
        self.data = SeedData()
        self.made: dict[str, list[dict[str, Any]]] = {name: [] for name in model.entities}
        self.taken: set[tuple[str, ...]] = set()
        self.sequence: dict[str, int] = {}
        self._report = on_item or (lambda _: None)
        self._decks: dict[tuple[str, str], list[str]] = {}

    def add(self, entity_name: str, values: Mapping[str, Any]) -> dict[str, Any] | None:
        """Keep an item made by hand (a seed extension): checked, and refused (None) if a key it takes is taken."""
        entity = self.model.entity(entity_name)
        checked = entity.check(values)
        keys = self._keys(entity, checked)
        if keys & self.taken:
            return None
        self.taken |= keys
        self.made[entity.name].append(checked)
        self.data.add(entity.name, checked)
        self._report(1)
        return checked

    def value(self, entity_name: str, field: str) -> object:
        """A value for one field, made as the generic generator makes it (an id in its format, a text...)."""
        entity = self.model.entity(entity_name)
        return self._value(entity, field, entity.fields[field])

    def check_providers(self, entity: Entity) -> None:
        for name, spec in entity.fields.items():
            if spec.faker is not None and not callable(getattr(self.fake, spec.faker, None)):
                raise ValidationError(
                    f"entities.{entity.name}.fields.{name}.faker: Faker has no provider '{spec.faker}' "
                    "(see the Faker documentation's list of standard providers)"
                )

    def make(self, plan: Plan, parent: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """One item's values, checked by the entity and unique where they must be; None if none could be."""
        for _ in range(TRIES):
            values = self._draw(plan, parent)
            if values is None:
                return None
            kept = self.add(plan.entity.name, values)
            if kept is not None:
                return kept
        return None

    def _keys(self, entity: Entity, values: Mapping[str, object]) -> set[tuple[str, ...]]:
        """The keys the item takes: its primary key, and the key of each unique marker it writes."""
        keys = {("item", *entity.key(values).values())}
        for unique in self.model.uniques_of(entity.name):
            keys.add(("unique", *unique.key(values).values()))
        return keys

    def _draw(self, plan: Plan, parent: Mapping[str, Any] | None) -> dict[str, Any] | None:
        values: dict[str, Any] = {}
        for name, spec in plan.entity.fields.items():
            if parent is not None and name == plan.link:
                values[name] = parent["id"]
            elif parent is not None and name in plan.inherited:
                if name in parent:
                    values[name] = parent[name]
            elif not spec.required and self.rng.random() < 1 / 3:
                continue
            elif spec.refers is not None:
                choices = self.made[spec.refers]
                if not choices:
                    if spec.required:
                        return None
                    continue
                values[name] = self.rng.choice(choices)["id"]
            else:
                values[name] = self._value(plan.entity, name, spec)
        return values

    def _value(self, entity: Entity, name: str, spec: FieldSpec) -> object:
        if spec.type == "id":
            return self._id(entity, spec)
        if spec.type == "int":
            low, high = spec.range or (0, 1000)
            return self.rng.randint(low, high)
        if spec.type == "datetime":
            moment = EPOCH + timedelta(seconds=self.rng.randint(0, 365 * 24 * 3600))
            return moment.isoformat().replace("+00:00", "Z")
        if spec.choices is not None:
            # Dealt like cards, so that few items show every choice before any comes twice.
            deck = self._decks.setdefault((entity.name, name), [])
            if not deck:
                deck += spec.choices
                self.rng.shuffle(deck)
            return deck.pop()
        if spec.type == "email":
            return str(getattr(self.fake, spec.faker or "email")())
        return self._text(name, spec)

    def _id(self, entity: Entity, spec: FieldSpec) -> str:
        if spec.format == "uuid":
            return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        if spec.format == "ulid":
            # 48 bits of milliseconds, then 80 random bits: ids made later sort later.
            number = self.sequence[entity.name] = self.sequence.get(entity.name, 0) + 1
            millis = int(EPOCH.timestamp() * 1000) + number
            bits = (millis << 80) | self.rng.getrandbits(80)
            return "".join(CROCKFORD[(bits >> shift) & 31] for shift in range(125, -1, -5))
        number = self.sequence[entity.name] = self.sequence.get(entity.name, 0) + 1
        return f"{_NOT_IN_ID.sub('-', entity.name)}-{number}"

    def _text(self, name: str, spec: FieldSpec) -> str:
        plain = name.lower().replace("_", "")
        if spec.faker is not None:
            made = getattr(self.fake, spec.faker)()
        elif plain in PROVIDERS:
            made = getattr(self.fake, PROVIDERS[plain])()
        elif plain.endswith(SENTENCES):
            made = self.fake.sentence(nb_words=4).rstrip(".")
        elif plain.endswith(PARAGRAPHS):
            made = self.fake.paragraph(nb_sentences=3)
        else:
            made = self.fake.catch_phrase()
        return str(made)
