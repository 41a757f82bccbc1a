"""Bulk data: seeding, purging, export and import.

Each job is imported from its module, which loads only what that job needs:
``knight.data.seed`` (``generate``, ``seed_table``), ``knight.data.purge`` (``purge``),
``knight.data.transfer`` (``export_items``, ``import_items``) and ``knight.data.progress``.
"""

__all__: list[str] = []
