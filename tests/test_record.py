"""`Record` classes behave as the dataclasses they replace, and the modules every command imports
declare no dataclass (each one compiled its generated methods at import).

Each behaviour is checked side by side with `@dataclass` of the same declaration.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import pickle
from collections import deque
from typing import Any, ClassVar

import pytest

from xai_files_cli.record import FrozenInstanceError, Record, field


class Point(Record):
    x: int
    y: int = 0
    label: str = field(default="", compare=False)
    secret: str = field(default="", repr=False)
    SCALE: ClassVar[int] = 10


@dataclasses.dataclass(frozen=True)
class PointDC:
    x: int
    y: int = 0
    label: str = dataclasses.field(default="", compare=False)
    secret: str = dataclasses.field(default="", repr=False)
    SCALE: ClassVar[int] = 10


class Bag(Record, frozen=False):
    name: str
    items: deque[int] = field(default_factory=deque)


class Handle(Record, frozen=False, eq=False):
    name: str


class Point3(Point):
    z: int = 0


def _same(record: Any, dataclass_value: Any) -> None:
    assert repr(record).replace("Point(", "PointDC(") == repr(dataclass_value)
    assert vars(record) == vars(dataclass_value)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((1,), {}),
        ((1, 2), {}),
        ((), {"x": 1, "y": 2}),
        ((1,), {"label": "a", "secret": "s"}),
        ((1, 2, "a", "s"), {}),
    ],
)
def test_init_and_repr_are_those_of_the_dataclass(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    _same(Point(*args, **kwargs), PointDC(*args, **kwargs))
    assert "secret" not in repr(Point(1, secret="key"))


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((), {}), ((1, 2, "a", "s", 5), {}), ((1,), {"x": 2}), ((1,), {"z": 3}), ((), {"y": 1})],
)
def test_wrong_arguments_raise_type_error_as_for_the_dataclass(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    with pytest.raises(TypeError):
        PointDC(*args, **kwargs)
    with pytest.raises(TypeError, match="Point"):
        Point(*args, **kwargs)


def test_equality_and_hash_follow_the_compared_fields() -> None:
    assert Point(1, 2, "a") == Point(1, 2, "b")  # label is not compared
    assert hash(Point(1, 2, "a")) == hash(Point(1, 2, "b"))
    assert Point(1, 2) != Point(1, 3)
    assert Point(1, 2) != PointDC(1, 2)  # another class: never equal
    assert Point3(1, 2, z=3) != Point(1, 2)
    assert {Point(1), Point(1)} == {Point(1)}


def test_a_frozen_record_refuses_assignment() -> None:
    point = Point(1)
    with pytest.raises(FrozenInstanceError):
        point.x = 2  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del point.x
    assert point.x == 1
    assert issubclass(FrozenInstanceError, AttributeError)  # as the dataclass's
    assert Point.SCALE == 10 and Point.y == 0 and "SCALE" not in Point._fields


def test_a_mutable_record_is_assigned_compared_by_value_and_unhashable() -> None:
    bag = Bag("a")
    bag.items.append(1)
    assert Bag("a").items == deque()  # each instance gets its own from the factory
    bag.name = "b"
    assert bag == Bag("b", deque([1]))
    assert Bag.__hash__ is None
    with pytest.raises(TypeError):
        hash(bag)


def test_a_record_without_eq_is_compared_by_identity() -> None:
    handle = Handle("a")
    assert handle != Handle("a") and handle == handle
    assert {handle: 1}[handle] == 1


def test_fields_of_a_base_record_come_first() -> None:
    assert Point3._fields == ("x", "y", "label", "secret", "z")
    assert repr(Point3(1, z=3)) == "Point3(x=1, y=0, label='', z=3)"


def test_a_subclass_without_fields_of_its_own_has_its_base_fields() -> None:
    class Named(Point):
        def name(self) -> str:
            return f"{self.x},{self.y}"

    assert Named._fields == Point._fields and Named(1, 2).name() == "1,2"
    assert Named(1) != Point(1)


def test_a_mutable_default_is_refused_as_by_the_dataclass() -> None:
    with pytest.raises(ValueError, match="default_factory"):

        class Bad(Record):
            items: list[int] = []  # noqa: RUF012


def test_copies_and_pickles_are_equal() -> None:
    point = Point(1, 2, "a", "s")
    for twin in (copy.copy(point), copy.deepcopy(point), pickle.loads(pickle.dumps(point))):
        assert twin == point and vars(twin) == vars(point)


MODULES = [
    "xai_files_cli.core.records",
    "xai_files_cli.core.listing",
    "xai_files_cli.core.channel",
    "xai_files_cli.core.rpc",
    "xai_files_cli.cli.context",
    "xai_files_cli.cli.examples",
    "xai_files_cli.cli.prompter",
    "xai_files_cli.cli.housekeeping",
    "xai_files_cli.cli.messages",
    "xai_files_cli.settings.config_store",
    "xai_files_cli.settings.resolution",
    "xai_files_cli.output.io",
    "xai_files_cli.output.files",
]


@pytest.mark.parametrize("name", MODULES)
def test_modules_every_command_imports_declare_no_dataclass(name: str) -> None:
    module = importlib.import_module(name)
    declared = [
        value.__name__
        for value in vars(module).values()
        if isinstance(value, type) and value.__module__ == name and dataclasses.is_dataclass(value)
    ]
    assert declared == []
