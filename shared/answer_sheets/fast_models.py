"""The one speed trick of parsing: building models from values that are already valid, unchecked.

A forms export of 50,000 rows yields over a million answers, each built from a cell reading that
was validated once for its whole column. Pydantic's validation of each would cost more than the
parse itself; ``tests/unit/test_fast_models.py`` pins what these build to what validation builds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

_Model = TypeVar("_Model", bound=BaseModel)

# BaseModel's slots, set through their descriptors: pydantic's __setattr__ refuses frozen models,
# and a descriptor call is cheaper than object.__setattr__ with a name.
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__

# One shared set per model: the models are frozen, so nothing ever adds to it.
_FIELD_SETS: dict[type[BaseModel], set[str]] = {}


def construct_validated(model: type[_Model], **values: Any) -> _Model:
    """An instance of a frozen model without extras or hooks from every field's already-validated value.

    What ``model_construct`` does for such values, without its per-field Python loop.
    """
    instance = model.__new__(model)
    object.__setattr__(instance, "__dict__", values)
    _set_fields_set(instance, _all_fields(model))
    _set_extra(instance, None)
    _set_private(instance, None)
    return instance


def validated_constructor(model: type[_Model]) -> Callable[[dict[str, Any]], _Model]:
    """:func:`construct_validated` bound to one model, taking a dict it keeps, for building many instances."""
    fields = _all_fields(model)
    new = model.__new__
    set_dict = object.__setattr__

    def construct(values: dict[str, Any]) -> _Model:
        instance = new(model)
        set_dict(instance, "__dict__", values)
        _set_fields_set(instance, fields)
        _set_extra(instance, None)
        _set_private(instance, None)
        return instance

    return construct


def _all_fields(model: type[BaseModel]) -> set[str]:
    fields: set[str] | None = _FIELD_SETS.get(model)
    if fields is None:
        fields = _FIELD_SETS[model] = set(model.model_fields)
    return fields
