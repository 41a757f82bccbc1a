"""No record of every object moto ever made.

moto keeps every instance of every model class it creates in a list per class,
for its dashboard (``/moto-api/data.json``): every item, every copy of one made
by an update or a Query, every stream record and every shard iterator, for as
long as the process lives. Measured on 5.2: about 70 objects and 20 KB a write,
never released, so a long-running `knight up` grows without bound. The embedded
engine has no dashboard; this layer stops the tracking, and moto's objects live
as long as moto's tables use them.
"""

from __future__ import annotations

from typing import Any

from moto.core.common_models import BaseModel


def _untracked_new(cls: type[Any], *_args: Any, **_kwargs: Any) -> Any:
    return object.__new__(cls)


def install() -> None:
    BaseModel.__new__ = _untracked_new  # type: ignore[method-assign]
