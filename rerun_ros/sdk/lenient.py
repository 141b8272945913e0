"""Rerun's SDK in its default (non-strict) mode warns about values it cannot store and logs
the field empty, where a plain constructor raises: :func:`lenient` wraps an archetype class so.
``set_strict_mode(True)`` (as ``rr.set_strict_mode``) makes them raise again."""
from __future__ import annotations

import inspect
import warnings

import pyarrow as pa

__all__ = ["RerunWarning", "lenient", "set_strict_mode", "strict_mode"]

_STRICT = False


class RerunWarning(Warning):
    """A value an archetype could not store (the field is logged empty), as Rerun's warning."""


def set_strict_mode(mode: bool) -> None:
    """Raise on values archetypes cannot store (True) or warn and log the field empty (False,
    the default, as Rerun's SDK)."""
    global _STRICT
    _STRICT = bool(mode)


def strict_mode() -> bool:
    return _STRICT


def _empty(cls, field: str):
    from ..model.archetype_table import COMPONENTS
    ct = cls._table_fields().get(field)
    return pa.array([], COMPONENTS[ct]) if ct in COMPONENTS else None


def lenient(cls):
    """A subclass of archetype ``cls`` whose constructor, outside strict mode, turns a value it
    cannot store into a :class:`RerunWarning` naming the field and the problem, and logs that
    field empty (zero instances), keeping the others — what Rerun's SDK stores."""
    sig = inspect.signature(cls.__init__)

    def __init__(self, *args, **kw):
        from ..model.table_archetypes import ArgumentError
        try:
            cls.__init__(self, *args, **kw)
            return
        except ArgumentError:
            raise
        except (ValueError, TypeError) as e:
            if _STRICT:
                raise
            err = e
        try:
            bound = sig.bind(self, *args, **kw)
        except TypeError:
            raise err from None  # a wrong argument (name or count): refused, as Rerun's SDK does
        given = {}
        for k, v in list(bound.arguments.items())[1:]:
            p = sig.parameters[k]
            if p.kind == p.VAR_KEYWORD:
                given.update(v)
            elif p.kind != p.VAR_POSITIONAL and v is not None:
                given[k] = v
        fields = cls._table_fields()
        good, bad = {}, {}
        for k, v in given.items():
            try:
                cls.from_fields(**{k: v})
                good[k] = v
            except (ValueError, TypeError) as fe:
                bad[k] = fe
        try:
            part = cls.from_fields(**good) if bad else None
        except (ValueError, TypeError):
            part = None
        if part is None:  # (the fields together do not fit: every given field is logged empty)
            bad = {k: err for k in given}
            try:
                part = cls.from_fields()
            except (ValueError, TypeError):
                from ..model.archetypes import Archetype
                part = cls.__new__(cls)
                Archetype.__init__(part)
        self.__dict__.update(part.__dict__)
        for k, fe in bad.items():
            if k in fields:
                empty = _empty(cls, k)
                if empty is not None:
                    self._batches[k] = empty
            text = str(fe)
            warnings.warn(text if text.startswith(f"{cls.NAME}") else f"{cls.NAME}:{k}: {text}", RerunWarning,
                          stacklevel=2)

    __init__.__signature__ = sig  # (what the wrapped constructor takes: inspect and _partial read it)
    out = type(cls.__name__, (cls,), {"__init__": __init__, "__doc__": cls.__doc__, "__module__": "rerun_ros.sdk"})
    return out
