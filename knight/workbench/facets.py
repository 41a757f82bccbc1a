"""Facet tables: the table or an index drawn like NoSQL Workbench, grouped by partition."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
from pandas.io.formats.style import Styler

from knight.model import BASE_TABLE, Index, Model

_BANDS = ("#eef4fb", "#ffffff")


def entity_chart(model: Model) -> pd.DataFrame:
    """One row per entity, one column per key attribute, each cell its key template.

    The uniqueness markers are items of the table too, so each has a row,
    named for its unique value (``u# student-email``).
    """
    columns = model.key_attributes
    kinds = [(entity.name, list(entity.keys.values()), entity.attributes) for entity in model.entities.values()]
    kinds += [(f"u# {unique.name}", [unique.keys], unique.attributes) for unique in model.uniques.values()]
    rows = []
    for name, all_keys, attributes in kinds:
        row = dict.fromkeys(columns, "")
        for keys in all_keys:
            row[keys.index.partition_key] = keys.partition.text
            if keys.sort is not None and keys.index.sort_key is not None:
                row[keys.index.sort_key] = keys.sort.text
        row["attributes"] = ", ".join(attributes)
        rows.append({"entity": name, **row})
    return pd.DataFrame(rows).set_index("entity")


def index_view(items: Iterable[Mapping[str, Any]], model: Model, index: str = BASE_TABLE) -> pd.DataFrame:
    """The items an index holds, in its order: by partition, then sort key (as bytes compare).

    Key columns come first, then the entity type, then every other attribute.
    """
    chosen: Index = model.indexes[index]
    keys = list(chosen.key_names)
    held = [dict(item) for item in items if all(k in item for k in keys)]
    held.sort(key=lambda item: tuple(str(item[k]).encode("utf-8") for k in keys))
    others: list[str] = []
    for item in held:
        for name in item:
            if name not in keys and name != model.type_attribute and name not in others:
                others.append(name)
    columns = [*keys, model.type_attribute, *others]
    return pd.DataFrame(held, columns=columns).fillna("")


def style_by_partition(frame: pd.DataFrame, partition_key: str | None = None) -> Styler:
    """Alternate a background band per partition so each item collection stands out."""
    key = partition_key or str(frame.columns[0])
    bands: list[str] = []
    previous: object = object()
    partition = -1
    for value in frame[key]:
        if value != previous:
            partition += 1
            previous = value
        bands.append(_BANDS[partition % 2])
    styles = pd.DataFrame(
        [[f"background-color: {band}"] * len(frame.columns) for band in bands],
        index=frame.index,
        columns=frame.columns,
    )
    return frame.style.apply(lambda _: styles, axis=None).hide(axis="index")
