"""Tracks: learning paths that group courses."""

from __future__ import annotations

from typing import Any

from knight.repositories.scope import new_id
from knight.repositories.store import Store


class Tracks:
    """Add and read tracks (patterns all-tracks and track-by-id)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.entity = store.model.entity("track")

    def add(self, name: str) -> dict[str, Any]:
        """A new track with a fresh id."""
        values = self.entity.check({"id": new_id(), "name": name})
        self.store.transact(self.store.create(self.entity, values, f"track {values['id']}"), "tracks.add")
        return values

    def get(self, track_id: str) -> dict[str, Any] | None:
        return self.store.read_one("track-by-id", {"id": track_id})

    def all(self) -> list[dict[str, Any]]:
        return self.store.read("all-tracks", {})
