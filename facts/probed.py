"""The base of nixfleet's facts: each is the pyinfra face of one area's reading."""

from __future__ import annotations

import inspect
from typing import Any, ClassVar, Generic, TypeVar

from pyinfra.api.facts import FactBase
from typing_extensions import override

from nixfleet import probe
from nixfleet.area import Reading
from nixfleet.probe import Reply, Unknown

T = TypeVar("T")


class ProbeFact(FactBase[Any], Generic[T]):
    """A fact read by one area reading (:class:`nixfleet.area.Reading`): its probe part on the
    host, and its parser. Its value is what the part observed, or
    :class:`~nixfleet.probe.Unknown` saying what could not be read and why: never an empty
    default. Subclasses give ``reading``; the fact's arguments are those of its ``part``."""

    reading: ClassVar[Reading[Any]]
    key: ClassVar[str]  # the reading's key

    def default(self) -> T | Unknown:  # type: ignore[override]
        return Unknown(self.reading.what, "the fact could not be read (see the log above)")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # pyinfra binds a fact's arguments to the signature of its ``command``: give each
        # subclass a ``command`` with the signature of its reading's ``part``.
        super().__init_subclass__(**kwargs)
        if "reading" not in cls.__dict__:
            return
        cls.key = cls.reading.key
        part = type(cls.reading).part

        def command(self: ProbeFact[T], *args: Any, **kw: Any) -> str:
            return probe.command([self.reading.part(*args, **kw)])

        command.__signature__ = inspect.signature(part)  # type: ignore[attr-defined]
        command.__doc__ = part.__doc__
        cls.command = command

    @override
    def process(self, output: list[str]) -> T | Unknown:
        return self.value(probe.parse(output).get(self.key) or probe.missing(self.key))

    def value(self, reply: Reply) -> T | Unknown:
        return self.reading.value(reply)
