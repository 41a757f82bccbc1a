"""Helpers for the notebooks: facet tables, partition statistics, plots, a ready table."""

from knight.workbench.facets import entity_chart, index_view, style_by_partition
from knight.workbench.lab import Lab, open_lab
from knight.workbench.sizes import item_size, partition_stats

__all__ = [
    "Lab",
    "entity_chart",
    "index_view",
    "item_size",
    "open_lab",
    "partition_stats",
    "style_by_partition",
]
