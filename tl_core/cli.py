"""`transferlab`: everything the app does, from a terminal. Commands import torch only when they need it."""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import typing
from pathlib import Path

from .config import ALL, RunConfig


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    return args.func(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="transferlab", description="Fine-tune pre-trained image and text models "
                                     "on your own small dataset, from the browser or from here.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("app", help="start the web app (http://localhost:8501)")
    p.add_argument("--port", type=int, default=8501)
    p.set_defaults(func=_app)

    p = sub.add_parser("models", help="list the pre-trained models and whether they are available offline")
    p.add_argument("--json", action="store_true", help="one JSON object per model")
    p.set_defaults(func=_models)

    p = sub.add_parser("train", help="fine-tune a model on DATA (a folder of class folders, a .zip, or a text table)")
    _add_config_flags(p)
    p.add_argument("--json", action="store_true", help="one JSON object per event on stdout")
    p.set_defaults(func=_train)

    p = sub.add_parser("predict", help="predict labels for images or texts with a run or an exported model")
    p.add_argument("model", help="a run id, a run folder or an exported model folder/zip")
    p.add_argument("inputs", nargs="+", help="image files, or texts")
    p.add_argument("--top-k", type=int, default=3)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_predict)

    p = sub.add_parser("export", help="export a run's model to a self-contained folder or zip")
    p.add_argument("run", help="a run id or run folder")
    p.add_argument("--format", choices=("folder", "zip"), default="zip")
    p.add_argument("--out", default=None, help="where to write it (default: beside the run)")
    p.add_argument("--no-onnx", action="store_true", help="skip the ONNX copy of an image model")
    p.set_defaults(func=_export)

    p = sub.add_parser("runs", help="list earlier runs")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_runs)

    p = sub.add_parser("worker", help=argparse.SUPPRESS)  # what the app starts for each run
    p.add_argument("run_dir", nargs="?")
    p.add_argument("--standby", action="store_true", help="import first, then wait for a run to be handed over")
    p.set_defaults(func=_worker)
    return parser


def _unfreeze(value: str) -> int:
    if value.lower() == "all":
        return ALL
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of blocks or 'all', not {value!r}") from None


def _label_name(value: str) -> tuple[str, str]:
    label, equals, name = value.partition("=")
    if not equals or not label or not name.strip():
        raise argparse.ArgumentTypeError(f"expected LABEL=NAME, e.g. 0=negative, not {value!r}")
    return label, name


_PARSERS = {"unfreeze": _unfreeze}  # fields whose flag reads more than a plain int, float or string


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per RunConfig field, named, typed and explained by the field itself (its metadata), so a new
    setting reaches `transferlab train` without a second copy here. A field without a default is positional."""
    groups: dict[str, argparse._MutuallyExclusiveGroup] = {}
    hints = typing.get_type_hints(RunConfig)
    for f in _cli_fields():
        about, kind = f.metadata, hints[f.name]
        if "group" in about and about["group"] not in groups:
            groups[about["group"]] = parser.add_mutually_exclusive_group()
        where = groups.get(about.get("group"), parser)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            where.add_argument(f.name, help=about["help"])
        elif kind is bool:
            where.add_argument(_flag(f), action="store_true", help=about["help"])
        elif typing.get_origin(kind) is dict:  # repeated LABEL=NAME pairs, made a dict by _config_from
            where.add_argument(_flag(f), type=_label_name, action="append", default=[], metavar=about.get("metavar"),
                               help=about["help"])
        else:
            where.add_argument(_flag(f), type=_PARSERS.get(f.name) or (kind if kind in (int, float) else None),
                               default=f.default, choices=about.get("choices"), metavar=about.get("metavar"),
                               help=about["help"])


def _config_from(args: argparse.Namespace) -> RunConfig:
    """The RunConfig `transferlab train` asked for: every field from its flag (repeated pairs made a dict)."""
    values = {f.name: getattr(args, _flag(f).lstrip("-").replace("-", "_")) for f in _cli_fields()}
    return RunConfig(**{k: dict(v) if isinstance(v, list) else v for k, v in values.items()})


def _cli_fields() -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(RunConfig) if f.metadata.get("cli", True)]


def _flag(f: dataclasses.Field) -> str:
    """`--early-stop` for early_stop, or the flag the field's metadata names (`--label-name` for label_names)."""
    return "--" + f.metadata.get("flag", f.name.replace("_", "-"))


def _app(args) -> int:
    import subprocess

    app = Path(__file__).resolve().parent.parent / "app.py"
    return subprocess.call([sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(args.port)])


def _models(args) -> int:
    from .models.catalog import catalog

    for m in catalog():
        if args.json:
            print(json.dumps({"name": m.name, "kind": m.kind, "title": m.title, "params_m": m.params_m,
                              "size_mb": m.size_mb, "speed": m.speed, "available": m.available,
                              "learned_from": m.learned_from, "default": m.default}))
        else:
            star = "*" if m.default else " "
            print(f"{star} {m.name:24} {m.kind:5} {m.params_m:6.1f} M {m.size_mb:5} MB  {m.speed:8} {m.availability}")
    if not args.json:
        print("\n* = default for its kind. Learned from: image models, ImageNet photos; text models, English text.")
    return 0


def _train(args) -> int:
    from . import events
    from .runs import create_run
    from .worker import run_worker

    config = _config_from(args)
    run = create_run(config)
    code = run_worker(run.dir, echo=_print_json if args.json else _ProgressPrinter())
    ending = next((e for e in reversed(run.events()) if e["event"] in events.ENDINGS), None)
    if not args.json and ending:
        _print_summary(run, ending)
    return code


def _print_json(event: dict) -> None:
    print(json.dumps(event, default=str), flush=True)


class _ProgressPrinter:
    def __call__(self, event: dict) -> None:
        from .data.examples import plural

        kind = event["event"]
        if kind == "started":
            print(f"Training on {event['device']}: {event['path']}, {event['trainable_params']:,} of "
                  f"{plural(event['total_params'], 'parameter')} train; {event['train_examples']:,} training and "
                  f"{plural(event['val_examples'], 'validation example')}, {plural(event['epochs'], 'epoch')}.",
                  file=sys.stderr)
        elif kind == "progress":
            done = event["step"] / max(event["steps"], 1)
            bar = "#" * int(done * 30)
            print(f"\r[{bar:30}] {done:4.0%}  loss {event['loss']:.3f}  {event['samples_per_s']:.0f}/s  "
                  f"ETA {event['eta_s']:.0f}s ", end="", file=sys.stderr, flush=True)
        elif kind == "epoch":
            print(f"\repoch {event['epoch']:3}  train loss {event['train_loss']:.3f}  val loss {event['val_loss']:.3f}"
                  f"  val accuracy {event['val_accuracy']:.1%}  ({event['elapsed_s']:.1f}s)" + " " * 20,
                  file=sys.stderr)
        elif kind in ("note", "failed"):
            print(f"\n{event.get('text') or event.get('reason')}", file=sys.stderr)


def _print_summary(run, ending: dict) -> None:
    from .data.examples import plural

    metrics = run.metrics() or {}
    if ending["event"] == "failed":
        print(f"Training failed: {ending['reason']}")
        return
    print(f"\n{ending['event'].capitalize()} in {ending.get('elapsed_s', 0):.1f}s. "
          f"Best epoch {ending.get('best_epoch')}: validation accuracy {ending.get('best_val_accuracy') or 0:.1%}")
    for name, m in metrics.get("per_class", {}).items():
        print(f"  {name:20} precision {m['precision']:.1%}  recall {m['recall']:.1%}  f1 {m['f1']:.1%}  "
              f"({plural(m['support'], 'example')})")
    print(f"Run: {run.id}   (transferlab predict {run.id} FILE…   ·   transferlab export {run.id})")


def _predict(args) -> int:
    from .predictor import Predictor

    predictor = Predictor.load(args.model)
    results = predictor.predict(args.inputs, top_k=args.top_k)
    for item, top in zip(args.inputs, results):
        if args.json:
            print(json.dumps({"input": item, "top": [{"label": l, "probability": p} for l, p in top]}))
        else:
            print(f"{item}: " + ", ".join(f"{l} {p:.1%}" for l, p in top))
    return 0


def _export(args) -> int:
    from .export import export_run
    from .runs import get_run

    run = get_run(args.run) if not Path(args.run).is_dir() else _run_at(Path(args.run))
    path = export_run(run, Path(args.out) if args.out else None, as_zip=args.format == "zip", onnx=not args.no_onnx)
    print(path)
    return 0


def _run_at(path: Path):
    from .runs import Run

    return Run(path.resolve())


def _runs(args) -> int:
    from .runs import list_runs

    for run in list_runs():
        status = run.status()
        metrics = run.metrics() or {}
        config = run.config
        if args.json:
            print(json.dumps({"id": run.id, "state": status.get("state"), "data": config.data, "model": config.model,
                              "unfreeze": config.unfreeze, "accuracy": metrics.get("accuracy")}))
        else:
            acc = f"{metrics['accuracy']:.1%}" if "accuracy" in metrics else "-"
            print(f"{run.id}  {status.get('state', '?'):11} {acc:>6}  {config.model or 'default'}  {config.data}")
    return 0


def _worker(args) -> int:
    from .worker import run_worker

    if args.standby:
        from .standby import wait_for_run

        run_dir = wait_for_run()
        return run_worker(run_dir) if run_dir else 0
    return run_worker(Path(args.run_dir))


if __name__ == "__main__":
    sys.exit(main())
