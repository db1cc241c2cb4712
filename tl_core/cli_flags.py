"""`transferlab train`'s flags, one per RunConfig field, made from the field itself (its type and metadata)."""
from __future__ import annotations

import argparse
import dataclasses
import typing

from .config import UNFREEZE_WORDS, RunConfig


def _unfreeze(value: str) -> int:
    """The inverse of config.unfreeze_flag."""
    words = {word: n for n, word in UNFREEZE_WORDS.items()}
    if value.lower() in words:
        return words[value.lower()]
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of blocks, 'all' or 'auto', not {value!r}") from None


def _label_name(value: str) -> tuple[str, str]:
    label, equals, name = value.partition("=")
    if not equals or not label or not name.strip():
        raise argparse.ArgumentTypeError(f"expected LABEL=NAME, e.g. 0=negative, not {value!r}")
    return label, name


_PARSERS = {"unfreeze": _unfreeze}  # fields whose flag reads more than a plain int, float or string


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per RunConfig field, named, typed and explained by the field itself (its metadata), so a new
    setting reaches `transferlab train` without a second copy here. A field without a default is positional
    (optional: `--resume RUN` takes the earlier run's)."""
    groups: dict[str, argparse._MutuallyExclusiveGroup] = {}
    hints = typing.get_type_hints(RunConfig)
    for f in _cli_fields():
        about, kind = f.metadata, hints[f.name]
        if "group" in about and about["group"] not in groups:
            groups[about["group"]] = parser.add_mutually_exclusive_group()
        where = groups.get(about.get("group"), parser)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            where.add_argument(f.name, nargs="?", help=about["help"])
        elif kind is bool:
            where.add_argument(_flag(f), action="store_true", help=about["help"])
        elif typing.get_origin(kind) is dict:  # repeated LABEL=NAME pairs, made a dict by config_from
            where.add_argument(_flag(f), type=_label_name, action="append", default=[], metavar=about.get("metavar"),
                               help=about["help"])
        else:
            where.add_argument(_flag(f), type=_PARSERS.get(f.name) or (kind if kind in (int, float) else None),
                               default=f.default, choices=about.get("choices"), metavar=about.get("metavar"),
                               help=about["help"])


def config_from(args: argparse.Namespace) -> RunConfig:
    """The RunConfig `transferlab train` asked for: every field from its flag (repeated pairs made a dict), or with
    `--resume RUN` the earlier run's (`resume.continue_run`) for `--epochs` more epochs."""
    from .data import DataError

    if args.resume:
        from .resume import continue_run

        if args.data:
            raise DataError("--resume keeps training a run on its own data and settings: leave out DATA.")
        return continue_run(args.resume, args.epochs)
    if not args.data:
        raise DataError("Say what to train on: a folder of class folders, a .zip or a text table (or --resume RUN).")
    values = {f.name: getattr(args, _flag(f).lstrip("-").replace("-", "_")) for f in _cli_fields()}
    return RunConfig(**{k: dict(v) if isinstance(v, list) else v for k, v in values.items()})


def _cli_fields() -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(RunConfig) if f.metadata.get("cli", True)]


def _flag(f: dataclasses.Field) -> str:
    """`--early-stop` for early_stop, or the flag the field's metadata names (`--label-name` for label_names)."""
    return "--" + f.metadata.get("flag", f.name.replace("_", "-"))
