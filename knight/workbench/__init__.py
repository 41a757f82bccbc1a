"""Helpers for the notebooks: facet tables, partition statistics, capacity, plots, a ready table."""

from knight.workbench.capacity import (
    PARTITION_READ_LIMIT,
    PARTITION_WRITE_LIMIT,
    ReadEstimate,
    ReadLog,
    estimate_reads,
    read_units,
    without_filter,
    write_units,
)
from knight.workbench.explorer import Exploration, Explorer, example_values, explore
from knight.workbench.facets import entity_chart, index_view, style_by_partition
from knight.workbench.lab import Lab, open_lab
from knight.workbench.outages import SwitchableIndex
from knight.workbench.sizes import item_size, partition_stats
from knight.workbench.streams import (
    BatchLog,
    Delivery,
    aggregate_table,
    dead_letter_table,
    read_stream,
    records_table,
    unread_records,
    wait_until,
    watch_batches,
)

__all__ = [
    "PARTITION_READ_LIMIT",
    "PARTITION_WRITE_LIMIT",
    "BatchLog",
    "Delivery",
    "Exploration",
    "Explorer",
    "Lab",
    "ReadEstimate",
    "ReadLog",
    "SwitchableIndex",
    "aggregate_table",
    "dead_letter_table",
    "entity_chart",
    "estimate_reads",
    "example_values",
    "explore",
    "index_view",
    "item_size",
    "open_lab",
    "partition_stats",
    "read_stream",
    "read_units",
    "records_table",
    "style_by_partition",
    "unread_records",
    "wait_until",
    "watch_batches",
    "without_filter",
    "write_units",
]
