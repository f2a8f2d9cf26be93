"""The base of nixfleet's facts: one probe part each, whose value is ``Unknown`` when unread."""

from __future__ import annotations

import inspect
from typing import Any, ClassVar, Generic, TypeVar

from pyinfra.api.facts import FactBase
from typing_extensions import override

from nixfleet import probe
from nixfleet.probe import Part, Reply, Unknown

T = TypeVar("T")


class ProbeFact(FactBase[Any], Generic[T]):
    """A fact read by one part of a probe (``nixfleet/probes/<script>.sh``). Its value is what
    the part observed, or :class:`~nixfleet.probe.Unknown` saying what could not be read and
    why: never an empty default. Subclasses give ``key``, ``what``, :meth:`part` and
    :meth:`parse`."""

    key: ClassVar[str]
    what: ClassVar[str]  # completes "could not …"

    def default(self) -> T | Unknown:  # type: ignore[override]
        return Unknown(self.what, "the fact could not be read (see the log above)")

    def part(self, *args: Any, **kwargs: Any) -> Part:
        raise NotImplementedError

    def parse(self, reply: Reply) -> T | Unknown:
        """The value of a part that ran and exited 0."""
        raise NotImplementedError

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # pyinfra binds a fact's arguments to the signature of its ``command``: give each
        # subclass a ``command`` with the signature of its ``part``.
        super().__init_subclass__(**kwargs)
        if "part" not in cls.__dict__:
            return
        part = cls.__dict__["part"]

        def command(self: ProbeFact[T], *args: Any, **kw: Any) -> str:
            return probe.command([part(self, *args, **kw)])

        command.__signature__ = inspect.signature(part)  # type: ignore[attr-defined]
        command.__doc__ = part.__doc__
        cls.command = command

    @override
    def process(self, output: list[str]) -> T | Unknown:
        return self.value(probe.parse(output).get(self.key) or probe.missing(self.key))

    def value(self, reply: Reply) -> T | Unknown:
        """:meth:`parse`, with any parse error turned into Unknown (the host printed what we
        cannot read)."""
        if reply.failure:
            return Unknown(self.what, reply.failure)
        try:
            return self.parse(reply)
        except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
            return Unknown(self.what, f"the output does not parse ({type(exc).__name__}: {exc})")
