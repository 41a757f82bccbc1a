"""Bulk data: seeding, purging, export and import."""
