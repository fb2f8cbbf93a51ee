"""Classes declared like dataclasses whose methods are not generated when the class is made.

`@dataclass` writes the source of each class's `__init__`, `__repr__`, `__eq__` (and, when frozen,
`__hash__`, `__setattr__`, `__delattr__`) and compiles it as the class is created: about half a
millisecond per class, which every command paid at import for the thirty classes it loads. A
`Record` subclass declares its fields the same way (annotations, defaults, `field(...)` with
`default_factory`, `repr=False` or `compare=False`) and gets the same behaviour from the methods of
this one base class:

    class Endpoint(Record):                 # frozen, compared and hashed by value
        host: str
        port: int = 443

    class Window(Record, frozen=False, eq=False):   # mutable, compared by identity
        pages: deque[bytes] = field(default_factory=deque)

Fields are set by `__init__` (positional or keyword, defaults filled in), shown by `__repr__` as
`Name(field=value, ...)`, compared by `==` only with an instance of the same class; a frozen record
refuses assignment with `FrozenInstanceError` (an AttributeError, as the dataclass's) and hashes by
value; a mutable one compared by value is unhashable. What is not offered: `__post_init__`,
`__match_args__`, `dataclasses.fields()` and `replace()`. This module does not import `dataclasses`
either (about a millisecond of every command's start-up).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, get_origin

__all__ = ["FrozenInstanceError", "Record", "field"]

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform
else:

    def dataclass_transform(**_: object) -> Callable[[type], type]:
        return lambda cls: cls


_CLASS_VARIABLE = ("ClassVar", "typing.ClassVar")
MISSING: Any = object()  # no default given


class FrozenInstanceError(AttributeError):
    """An assignment to (or deletion of) a field of a frozen record."""


class Field:
    """How one field was declared: its default (or factory), and whether repr and `==` use it."""

    __slots__ = ("compare", "default", "default_factory", "repr")

    def __init__(self, default: Any, default_factory: Any, repr: bool, compare: bool) -> None:
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.default = default
        self.default_factory = default_factory
        self.repr = repr
        self.compare = compare


def field(
    *,
    default: Any = MISSING,
    default_factory: Callable[[], Any] = MISSING,
    repr: bool = True,
    compare: bool = True,
) -> Any:
    """A field's declaration beyond its default, as `dataclasses.field` takes it (`repr=False` keeps a
    secret out of `repr`, `compare=False` keeps a field out of `==` and `hash`)."""
    return Field(default, default_factory, repr, compare)


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
class Record:
    """Base class of the value classes above (see the module doc)."""

    _fields: ClassVar[tuple[str, ...]] = ()  # every field, in declaration order (base classes first)
    _names: ClassVar[frozenset[str]] = frozenset()
    _defaults: ClassVar[dict[str, Any]] = {}
    _factories: ClassVar[dict[str, Callable[[], Any]]] = {}
    _shown: ClassVar[tuple[str, ...]] = ()  # the fields `__repr__` shows
    _compared: ClassVar[tuple[str, ...]] = ()  # the fields `==` and `hash` use
    _specs: ClassVar[dict[str, Field]] = {}

    def __init_subclass__(cls, *, frozen: bool = True, eq: bool = True, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        specs: dict[str, Field] = {}
        for base in reversed(cls.__mro__[1:]):
            specs.update(getattr(base, "_specs", {}))
        for name, annotation in cls.__annotations__.items():  # the class's own (Python 3.10+)
            if _is_class_variable(annotation):
                continue
            specs[name] = _field_spec(cls, name)
        cls._specs = specs
        cls._fields = tuple(specs)
        cls._names = frozenset(specs)
        cls._defaults = {name: spec.default for name, spec in specs.items() if spec.default is not MISSING}
        cls._factories = {
            name: spec.default_factory for name, spec in specs.items() if spec.default_factory is not MISSING
        }
        cls._shown = tuple(name for name, spec in specs.items() if spec.repr)
        cls._compared = tuple(name for name, spec in specs.items() if spec.compare)
        own = cls.__dict__
        if not frozen:
            _set_unless_own(cls, "__setattr__", object.__setattr__)
            _set_unless_own(cls, "__delattr__", object.__delattr__)
        if not eq:
            _set_unless_own(cls, "__eq__", object.__eq__)
            _set_unless_own(cls, "__hash__", object.__hash__)
        elif not frozen and "__hash__" not in own:
            cls.__hash__ = None  # type: ignore[assignment]  # as a mutable dataclass: unhashable

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args:
            kwargs = self._with_positional(args, kwargs)
        if kwargs.keys() != self._names:
            kwargs = self._completed(kwargs)
        self.__dict__.update(kwargs)

    def _with_positional(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The arguments by name: positional ones name the fields in declaration order."""
        fields = self._fields
        if len(args) > len(fields):
            raise TypeError(
                f"{type(self).__name__}() takes {len(fields)} arguments but {len(args)} were given"
            )
        values = dict(zip(fields, args, strict=False))
        for name in kwargs.keys() & values.keys():
            raise TypeError(f"{type(self).__name__}() got multiple values for argument {name!r}")
        values.update(kwargs)
        return values

    def _completed(self, values: dict[str, Any]) -> dict[str, Any]:
        """`values` with the defaults of the fields not given (TypeError for a required field or an
        unknown name)."""
        for name in values.keys() - self._names:
            raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument {name!r}")
        completed = dict(values)
        for name in self._fields:
            if name in values:
                continue
            if name in self._defaults:
                completed[name] = self._defaults[name]
            elif name in self._factories:
                completed[name] = self._factories[name]()
            else:
                raise TypeError(f"{type(self).__name__}() missing required argument: {name!r}")
        return completed

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._shown)
        return f"{type(self).__qualname__}({shown})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple[Any, ...]:
        values = self.__dict__
        return tuple(values[name] for name in self._compared)

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")


def _is_class_variable(annotation: object) -> bool:
    if isinstance(annotation, str):
        return annotation.startswith(_CLASS_VARIABLE)
    return annotation is ClassVar or get_origin(annotation) is ClassVar


def _set_unless_own(cls: type, name: str, method: object) -> None:
    """Give `cls` the method `name` unless its own body defines one (as a dataclass leaves it)."""
    if name not in cls.__dict__:
        setattr(cls, name, method)


def _field_spec(cls: type, name: str) -> Field:
    """The field `name` of `cls` as declared: `field(...)`, a plain default, or neither. As with a
    dataclass, the class attribute keeps a default value and is removed for a factory or none."""
    declared = cls.__dict__.get(name, MISSING)
    if isinstance(declared, Field):
        spec = declared
        if spec.default is MISSING:
            delattr(cls, name)
        else:
            setattr(cls, name, spec.default)
        return spec
    if declared is not MISSING and type(declared).__hash__ is None:  # a list, dict, set...: shared
        raise ValueError(f"mutable default {type(declared).__name__} for field {name}: use default_factory")
    return Field(declared, MISSING, repr=True, compare=True)
