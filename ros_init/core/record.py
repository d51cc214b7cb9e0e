"""Records: the parts of ``dataclasses`` and ``typing`` that ros-init uses, at a fraction of
their start-up cost.

``import dataclasses`` pulls in ``inspect``, ``ast``, ``dis`` and ``tokenize``, and every
``@dataclass`` compiles its methods with ``exec``: about 15 ms plus 0.6 ms per class on the
2-core CI machine, paid before any work (``python -X importtime``;
``benchmarks/bench_validate.py``). ``validate`` and every ``run`` (``--config`` or the
datasources) no longer pay it (``tests/architecture/test_cold_imports.py``). ``@record`` gives the same
class from the same annotated body (fields in order, defaults, ``field(default_factory=...,
repr=..., compare=...)``, ``frozen``), with one shared ``__init__``, ``__repr__``, ``__eq__``
and (frozen) ``__hash__``, and ``replace`` / ``asdict`` as in ``dataclasses``.

``NamedTuple`` is ``typing.NamedTuple``'s class syntax (``class Spec(NamedTuple): name: str
= ""``) made by ``collections.namedtuple``, without importing ``typing`` (about 3 ms); type
checkers see ``typing.NamedTuple`` itself.
"""

from __future__ import annotations

__all__ = ["NamedTuple", "asdict", "field", "record", "replace"]

_MISSING = object()


class _Field:
    __slots__ = ("default", "factory", "repr", "compare")

    def __init__(self, default: object, factory: object, repr: bool, compare: bool) -> None:  # noqa: A002
        self.default, self.factory, self.repr, self.compare = default, factory, repr, compare


def field(*, default: object = _MISSING, default_factory: object = None, repr: bool = True,  # noqa: A002
          compare: bool = True) -> object:
    """A field's default (or ``default_factory``), and whether ``repr`` and ``==`` show it."""
    return _Field(default, default_factory, repr, compare)


def record(cls: type | None = None, *, frozen: bool = False):  # type: ignore[no-untyped-def]
    """Class decorator: ``@record`` or ``@record(frozen=True)``, like ``@dataclass``."""
    if cls is None:
        return lambda c: _make(c, frozen)
    return _make(cls, frozen)


def _make(cls: type, frozen: bool) -> type:
    fields: dict[str, _Field] = {}
    for base in reversed(cls.__mro__[1:]):
        fields.update(getattr(base, "__record_fields__", {}))
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():
        if str(annotation).startswith(("ClassVar", "typing.ClassVar")):
            continue
        value = cls.__dict__.get(name, _MISSING)
        f = value if isinstance(value, _Field) else _Field(value, None, True, True)
        fields[name] = f
        if isinstance(value, _Field):  # the class attribute is the plain default, as in dataclasses
            if f.default is _MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, f.default)
    names = tuple(fields)
    shown = tuple(n for n, f in fields.items() if f.repr)
    compared = tuple(n for n, f in fields.items() if f.compare)
    defaults = [(n, f) for n, f in fields.items() if f.default is not _MISSING or f.factory is not None]
    required = tuple(n for n in names if n not in dict(defaults))
    setter = object.__setattr__

    def __init__(self, *args: object, **kwargs: object) -> None:  # noqa: N807
        if len(args) > len(names):
            raise TypeError(f"{cls.__name__}() takes {len(names)} positional arguments, {len(args)} given")
        for name, value in zip(names, args, strict=False):
            if name in kwargs:
                raise TypeError(f"{cls.__name__}() got multiple values for argument {name!r}")
            setter(self, name, value)
        for name in names[len(args):]:
            if name in kwargs:
                setter(self, name, kwargs.pop(name))
            elif name in required:
                raise TypeError(f"{cls.__name__}() missing required argument {name!r}")
            else:
                f = fields[name]
                setter(self, name, f.factory() if f.factory is not None else f.default)  # type: ignore[operator]
        if kwargs:
            raise TypeError(f"{cls.__name__}() got an unexpected keyword argument {next(iter(kwargs))!r}")
        post = getattr(self, "__post_init__", None)
        if post is not None:
            post()

    def __repr__(self) -> str:  # noqa: N807
        return f"{type(self).__qualname__}({', '.join(f'{n}={getattr(self, n)!r}' for n in shown)})"

    def __eq__(self, other: object) -> bool:  # noqa: N807
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in compared)

    cls.__record_fields__ = fields  # type: ignore[attr-defined]
    cls.__init__ = __init__  # type: ignore[misc]
    if "__repr__" not in cls.__dict__:
        cls.__repr__ = __repr__  # type: ignore[method-assign]
    if "__eq__" not in cls.__dict__:
        cls.__eq__ = __eq__  # type: ignore[method-assign]
        if frozen:
            cls.__hash__ = lambda self: hash(tuple(getattr(self, n) for n in compared))  # type: ignore[method-assign]
        else:
            cls.__hash__ = None  # type: ignore[assignment]
    if frozen:
        def __setattr__(self, name: str, value: object) -> None:  # noqa: N807
            raise AttributeError(f"cannot assign to field {name!r} of a frozen {cls.__name__}")

        def __delattr__(self, name: str) -> None:  # noqa: N807
            raise AttributeError(f"cannot delete field {name!r} of a frozen {cls.__name__}")

        cls.__setattr__ = __setattr__  # type: ignore[method-assign]
        cls.__delattr__ = __delattr__  # type: ignore[method-assign]
    return cls


def replace(obj: object, **changes: object) -> object:
    """A copy of the record ``obj`` with ``changes`` (``dataclasses.replace``)."""
    fields = type(obj).__record_fields__  # type: ignore[attr-defined]
    for name in changes:
        if name not in fields:
            raise TypeError(f"{type(obj).__name__} has no field {name!r}")
    return type(obj)(**{n: changes[n] if n in changes else getattr(obj, n) for n in fields})


def asdict(obj: object) -> object:
    """Records as dicts, recursively through lists, tuples and dicts (``dataclasses.asdict``)."""
    fields = getattr(type(obj), "__record_fields__", None)
    if fields is not None:
        return {n: asdict(getattr(obj, n)) for n in fields}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # a named tuple
        return type(obj)(*[asdict(v) for v in obj])
    if isinstance(obj, (list, tuple)):
        return type(obj)(asdict(v) for v in obj)
    if isinstance(obj, dict):
        return {asdict(k): asdict(v) for k, v in obj.items()}
    return obj


TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple
else:
    _NT_PROHIBITED = frozenset({"__new__", "__init__", "__slots__", "__getnewargs__", "_fields", "_field_defaults",
                                "_make", "_replace", "_asdict", "_source"})
    _NT_SPECIAL = frozenset({"__module__", "__name__", "__annotations__"})

    class _NamedTupleMeta(type):
        """What ``typing.NamedTupleMeta`` does: the class body's annotated names become the
        fields (those with a value: the defaults), its methods and docstring are kept."""

        def __new__(mcls, typename: str, bases: tuple, ns: dict):  # type: ignore[no-untyped-def]
            from collections import namedtuple

            names = tuple(ns.get("__annotations__", {}))
            defaults = [n for n in names if n in ns]
            if defaults and any(n not in ns for n in names[names.index(defaults[0]):]):
                raise TypeError(f"{typename}: a field without a default follows one with a default")
            cls = namedtuple(typename, names, defaults=[ns[n] for n in defaults], module=ns["__module__"])
            cls.__annotations__ = dict(ns.get("__annotations__", {}))
            for key, value in ns.items():
                if key in _NT_PROHIBITED:
                    raise AttributeError(f"cannot overwrite NamedTuple attribute {key}")
                if key not in _NT_SPECIAL and key not in cls._fields:
                    setattr(cls, key, value)
            return cls

    _NamedTupleBase = type.__new__(_NamedTupleMeta, "NamedTuple", (), {})

    def NamedTuple(*args: object, **kwargs: object) -> object:  # noqa: N802
        raise TypeError("ros_init.core.record.NamedTuple supports the class syntax only")

    NamedTuple.__mro_entries__ = lambda bases: (_NamedTupleBase,)  # type: ignore[attr-defined]
