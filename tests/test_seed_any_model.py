"""Seed data for a model of one's own: counts, references, uniqueness and field options, offline and
written to a real engine; and the model errors that stop a seed before it starts."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import new_table_name

from knight.access import Catalog
from knight.data.generator import MAX_ITEMS, expected_items, generate_for
from knight.data.seed import extension_of, generate, seed_table
from knight.data.seed_data import SeedData
from knight.engine import Engine
from knight.errors import ModelError, ValidationError
from knight.model import Model, load_model, parse_model
from knight.model.fields import check_value
from knight.model.starter import starter_text
from knight.table import create_table, delete_table

# A shop: customers, their orders and each order's lines, which name a product and copy the
# order's customer (lines live in the customer's partition). Emails are unique, and a line's
# key makes each product appear once per order.
SHOP = """
version: 1
table:
  name: shop
  keys: {partition: pk, sort: sk}
  billing: PAY_PER_REQUEST
  stream: NEW_AND_OLD_IMAGES
  entityTypeAttribute: type
  deployment: {deadLetterQueue: shop-dlq}
indexes:
  gsi1:
    keys: {partition: gsi1_pk, sort: gsi1_sk}
    projection: ALL
prefixes: {"c#": customer, "o#": order, "l#": line, "p#": product, "u#": uniques}
entities:
  customer:
    fields:
      id: {type: id, format: ulid}
      email: {type: email}
      tier: {type: string, choices: [bronze, silver, gold]}
    keys:
      table: {partition: "c#{id}", sort: "c#{id}"}
    attributes: [email, tier]
    examples: [{id: 01ARZ3NDEKTSV4RRFFQ69G5FAV, email: a@example.com, tier: gold}]
    seed: {count: 6}
  product:
    fields:
      id: {type: id}
      name: {type: string, faker: word}
      price: {type: int, range: [100, 200]}
    keys:
      table: {partition: "p#{id}", sort: "p#{id}"}
    attributes: [name, price]
    examples: [{id: pen, name: pen, price: 150}]
    seed: {count: 3}
  order:
    fields:
      id: {type: id, format: uuid}
      customerId: {type: id, format: ulid, refers: customer}
      placed: {type: datetime}
    keys:
      table: {partition: "c#{customerId}", sort: "o#{id}"}
      gsi1: {partition: "o#{id}", sort: "o#{id}"}
    attributes: [placed]
    examples:
      - id: 6f1c2a2e-1b3d-4c5e-8f70-1a2b3c4d5e01
        customerId: 01ARZ3NDEKTSV4RRFFQ69G5FAV
        placed: "2026-01-01T00:00:00Z"
    seed: {count: [1, 3], per: customer}
  line:
    fields:
      orderId: {type: id, format: uuid, refers: order}
      customerId: {type: id, format: ulid, refers: customer}
      productId: {type: id, refers: product}
      quantity: {type: int, range: [1, 9]}
      note: {type: string, required: false}
    keys:
      # Not o#...: "begins with o#" would then read a customer's lines as orders.
      table: {partition: "c#{customerId}", sort: "l#{orderId}#p#{productId}"}
      gsi1: {partition: "o#{orderId}", sort: "p#{productId}"}
    attributes: [quantity, note]
    examples:
      - orderId: 6f1c2a2e-1b3d-4c5e-8f70-1a2b3c4d5e01
        customerId: 01ARZ3NDEKTSV4RRFFQ69G5FAV
        productId: pen
        quantity: 2
    seed: {count: [5, 5], per: order}
accessPatterns:
  1: {name: orders-of-customer, summary: Orders of a customer., entity: order, index: table,
      partition: "c#{customerId}", sort: {beginsWith: "o#"}}
  # The order's own gsi1 item shares the partition: the sort condition leaves it out.
  2: {name: lines-of-order, summary: Lines of an order., entity: line, index: gsi1, partition: "o#{orderId}",
      sort: {beginsWith: "p#"}}
uniques:
  customer-email:
    summary: One customer an email.
    entity: customer
    partition: "u#{email|lower}"
    sort: "u#email"
"""


def shop(text: str = SHOP) -> Model:
    return parse_model(text, Path("shop.yaml"))


def by_entity(data: SeedData) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entity, values in data.items:
        grouped[entity].append(values)
    return grouped


def test_the_same_model_scale_and_seed_give_the_same_data() -> None:
    model = shop()
    assert generate_for(model, 1, 7).items == generate_for(model, 1, 7).items
    assert generate_for(model, 1, 7).items != generate_for(model, 1, 8).items


def test_counts_follow_each_entity_s_seed() -> None:
    made = by_entity(generate_for(shop(), 2, 1))
    assert len(made["customer"]) == 12  # 6 per scale
    assert len(made["product"]) == 6
    orders = Counter(order["customerId"] for order in made["order"])
    assert set(orders) == {customer["id"] for customer in made["customer"]}
    assert all(1 <= n <= 3 for n in orders.values())


def test_references_name_items_made_and_a_child_copies_its_parent_s_reference() -> None:
    made = by_entity(generate_for(shop(), 1, 3))
    orders = {order["id"]: order for order in made["order"]}
    products = {product["id"] for product in made["product"]}
    for line in made["line"]:
        assert line["customerId"] == orders[line["orderId"]]["customerId"]
        assert line["productId"] in products


def test_a_key_taken_is_drawn_again_and_an_item_that_cannot_be_unique_is_not_made() -> None:
    made = by_entity(generate_for(shop(), 1, 1))
    # Five lines wanted per order, but a line's key holds its product, and there are three products.
    per_order = Counter(line["orderId"] for line in made["line"])
    assert set(per_order.values()) == {3}
    assert len({(line["orderId"], line["productId"]) for line in made["line"]}) == len(made["line"])


def test_a_unique_marker_s_value_is_never_made_twice() -> None:
    # A tier unique to its customer: of six customers wanted, only the three tiers' can be made.
    model = shop(SHOP.replace("u#{email|lower}", "u#{tier}"))
    tiers = [customer["tier"] for customer in by_entity(generate_for(model, 1, 1))["customer"]]
    assert sorted(tiers) == ["bronze", "gold", "silver"]


def test_field_options_bound_what_is_made() -> None:
    made = by_entity(generate_for(shop(), 3, 2))
    assert {c["tier"] for c in made["customer"]} <= {"bronze", "silver", "gold"}
    assert all(100 <= p["price"] <= 200 for p in made["product"])
    assert all(1 <= line["quantity"] <= 9 for line in made["line"])
    notes = [line for line in made["line"] if "note" in line]
    assert 0 < len(notes) < len(made["line"]), "an optional field is made for some items, not all"


def test_ids_take_their_field_s_format() -> None:
    made = by_entity(generate_for(shop(), 1, 4))
    customers = [c["id"] for c in made["customer"]]
    assert all(check_value("id", c, "ulid") == c for c in customers)
    assert customers == sorted(customers), "ULIDs made later sort later"
    assert all(check_value("id", o["id"], "uuid") == o["id"] for o in made["order"])
    assert [p["id"] for p in made["product"]] == ["product-1", "product-2", "product-3"]


def test_a_seed_too_large_is_refused_before_anything_is_made() -> None:
    model = shop(SHOP.replace("seed: {count: 6}", "seed: {count: 30000}"))
    assert expected_items(model, 1) > MAX_ITEMS
    with pytest.raises(ValidationError, match=r"makes about [\d,]+ items; a seed makes at most 300,000"):
        generate_for(model, 1)


def test_an_unknown_faker_provider_is_refused_naming_the_field() -> None:
    model = shop(SHOP.replace("faker: word", "faker: wordd"))
    with pytest.raises(ValidationError, match=r"entities\.product\.fields\.name\.faker: Faker has no provider 'wordd'"):
        generate_for(model)


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("refers: product}", "refers: produce}", "'produce' is no entity with an id field"),
        ("seed: {count: [1, 3], per: customer}", "seed: {count: [1, 3], per: product}", "no field of order refers"),
        ("name: {type: string, faker: word}", "name: {type: string, range: [1, 2]}", "'range' is for int fields"),
        ("price: {type: int, range: [100, 200]}", "price: {type: int, range: [200, 100]}", r"must be \[smallest"),
        ("seed: {count: 6}", "seed: {count: [3, 1]}", "must be a number from 0"),
        (
            "attributes: [email, tier]",
            "attributes: [email, tier, favourite]",
            r"refer in a circle \(customer -> order -> customer\)",
        ),
    ],
)
def test_a_seed_the_model_cannot_describe_is_a_model_error(old: str, new: str, problem: str) -> None:
    assert old in SHOP
    text = SHOP.replace(old, new, 1)
    if "favourite]" in text:
        text = text.replace(
            "      email: {type: email}",
            "      email: {type: email}\n      favourite: {type: id, refers: order, required: false}",
        )
    with pytest.raises(ModelError, match=problem):
        shop(text)


def test_knight_s_own_model_keeps_its_own_generator(model: Model) -> None:
    assert model.spec.seed is not None
    data = generate_for(model, 1, 5, extension=extension_of(model))
    assert data.items == generate(1, 5).items


def test_an_unknown_seed_extension_is_refused(model: Model, tmp_path: Path) -> None:
    path = tmp_path / "model.yaml"
    path.write_text(model.path.read_text(encoding="utf-8").replace("extension: sir-learn-a-lot", "extension: mine"))
    with pytest.raises(ValidationError, match="no seed extension 'mine'"):
        extension_of(load_model(path))


@pytest.fixture
def shop_table(engine: Engine) -> Iterator[tuple[Model, str]]:
    model = shop()
    name = new_table_name("knight-shop")
    create_table(engine, model, name)
    yield model, name
    delete_table(engine, name)


def test_a_seed_written_to_the_engine_answers_the_model_s_patterns(
    engine: Engine, shop_table: tuple[Model, str]
) -> None:
    model, table = shop_table
    data = seed_table(engine, model, table, scale=1, random_seed=6, show_progress=False)
    made = by_entity(data)
    markers = len(made["customer"])  # one email marker each
    assert data.written == len(data) + markers
    catalog = Catalog(model)
    for customer in made["customer"]:
        orders = catalog.get("orders-of-customer").run(engine, table, {"customerId": customer["id"]})
        assert sorted(v["id"] for v in orders.values) == sorted(
            o["id"] for o in made["order"] if o["customerId"] == customer["id"]
        )
    for order in made["order"]:
        lines = catalog.get("lines-of-order").run(engine, table, {"orderId": order["id"]})
        assert len(lines.values) == sum(1 for line in made["line"] if line["orderId"] == order["id"])


def test_the_starter_model_seeds_by_its_own_counts(tmp_path: Path) -> None:
    path = tmp_path / "blog.yaml"
    path.write_text(starter_text("blog"), encoding="utf-8")
    made = by_entity(generate_for(load_model(path), 2, 1))
    assert len(made["author"]) == 10
    assert all(0 <= n <= 4 for n in Counter(p["authorId"] for p in made["post"]).values())
    assert all(0 <= p.get("likes", 0) <= 500 for p in made["post"])
