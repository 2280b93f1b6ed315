"""Options that set fields of the settings dataclasses, and the dataclasses built back.

An option's default, type and help are read from its field (``core.settings``), so the
parser never repeats a default: ``stashql serve --help`` shows what ``Settings()`` is.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any, TypeVar

from core.settings import default_of, help_of

S = TypeVar("S")


@dataclass(frozen=True)
class _Bound:
    owner: type
    name: str
    dest: str
    repeatable: bool


class SettingOptions:
    """Adds options for settings fields to one parser, and builds the settings back."""

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self.parser = parser
        self.bound: list[_Bound] = []

    def add(
        self,
        flag: str,
        owner: type,
        name: str,
        *,
        help: str | None = None,
        convert: Any = None,
        metavar: str | None = None,
    ) -> None:
        """``flag`` sets ``owner.name``. A bool field becomes a switch: ``--x`` for one
        that is off by default, ``--no-x`` (give its ``help``) for one that is on.
        ``convert`` turns the text into the value (by default the default's type)."""
        default = default_of(owner, name)
        text = help if help is not None else help_of(owner, name)
        dest = f"{owner.__name__}.{name}"
        kwargs: dict[str, Any] = {"dest": dest, "default": default}
        repeatable = isinstance(default, tuple)
        if isinstance(default, bool):
            kwargs["action"] = "store_false" if default else "store_true"
        elif repeatable:
            # argparse appends to its default: start from None and fall back on the field's.
            kwargs.update(action="append", default=None, type=convert or str)
        else:
            # Without a default, the value is the text as given.
            kwargs["type"] = convert or (str if default is None else type(default))
            if default is not None:
                text += " (default: %(default)s)"
        if not isinstance(default, bool):
            kwargs["metavar"] = metavar or name.upper()
        self.parser.add_argument(flag, help=text, **kwargs)
        self.bound.append(_Bound(owner, name, dest, repeatable))

    def build(self, args: argparse.Namespace, owner: type[S], **given: Any) -> S:
        """``owner`` from the parsed options bound to its fields, and ``given``; a value
        the settings class refuses ends the command with a usage error (exit code 2)."""
        values = dict(given)
        for bound in self.bound:
            if bound.owner is owner:
                value = getattr(args, bound.dest)
                if bound.repeatable:
                    value = tuple(value) if value else default_of(owner, bound.name)
                values[bound.name] = value
        try:
            return owner(**values)
        except ValueError as exc:  # a settings class refusing a value: a usage error
            self.parser.error(str(exc))
