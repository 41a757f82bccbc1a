"""Helpers for the notebooks: facet tables, partition statistics, capacity, plots, a ready table."""

from knight.workbench.capacity import (
    PARTITION_READ_LIMIT,
    PARTITION_WRITE_LIMIT,
    ReadEstimate,
    estimate_reads,
    read_units,
    without_filter,
    write_units,
)
from knight.workbench.explorer import Exploration, Explorer, example_values, explore
from knight.workbench.facets import entity_chart, index_view, style_by_partition
from knight.workbench.lab import Lab, open_lab
from knight.workbench.sizes import item_size, partition_stats

__all__ = [
    "PARTITION_READ_LIMIT",
    "PARTITION_WRITE_LIMIT",
    "Exploration",
    "Explorer",
    "Lab",
    "ReadEstimate",
    "entity_chart",
    "estimate_reads",
    "example_values",
    "explore",
    "index_view",
    "item_size",
    "open_lab",
    "partition_stats",
    "read_units",
    "style_by_partition",
    "without_filter",
    "write_units",
]
