"""Did-you-mean hints for unknown config keys: the valid names at that place in the schema."""

from __future__ import annotations

import difflib
import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel


def _members(annotation: Any) -> list[Any]:
    """The types an annotation allows: Annotated and unions (Optional too) unwrapped."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _members(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return [member for arg in get_args(annotation) for member in _members(arg)]
    return [annotation]


def _tagged(annotation: Any, part: int | str) -> list[Any]:
    """The members of a tagged union whose tag is `part` (pydantic puts the tag in the path)."""
    if get_origin(annotation) is Annotated:
        inner, *metadata = get_args(annotation)
        if any(getattr(meta, "tag", None) == part for meta in metadata):
            return [inner]
        return _tagged(inner, part)
    if get_origin(annotation) in (Union, types.UnionType):
        return [member for arg in get_args(annotation) for member in _tagged(arg, part)]
    return []


def _step(annotation: Any, part: int | str) -> list[Any]:
    """What sits under `part` of a value of this type."""
    if tagged := _tagged(annotation, part):
        return tagged
    found: list[Any] = []
    for member in _members(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            field = member.model_fields.get(str(part))
            if field is not None:
                found.append(field.annotation)
        elif get_origin(member) is dict:
            found.append(get_args(member)[1])
        elif get_origin(member) is list:
            found.append(get_args(member)[0])
    return found


def valid_names(model: type[BaseModel], location: tuple[int | str, ...]) -> list[str]:
    """The keys the schema accepts beside the last part of `location`."""
    options: list[Any] = [model]
    for part in location[:-1]:
        options = [step for option in options for step in _step(option, part)]
    names: set[str] = set()
    for option in options:
        for member in _members(option):
            if isinstance(member, type) and issubclass(member, BaseModel):
                names.update(member.model_fields)
    return sorted(names)


def did_you_mean(model: type[BaseModel], location: tuple[int | str, ...]) -> str:
    """The hint " (did you mean max_contracts?)" for a near miss, else ""."""
    if not location:
        return ""
    close = difflib.get_close_matches(str(location[-1]), valid_names(model, location), n=1)
    return f" (did you mean {close[0]}?)" if close else ""
