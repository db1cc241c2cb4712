"""`transferlab`: everything the app does, from a terminal. Commands import torch only when they need it."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .cli_flags import add_config_flags, config_from
from .config import RANK_SAMPLE, RunConfig, field_help


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
    add_config_flags(p)
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

    p = sub.add_parser("rank", help="score every available model on a sample of DATA, then recommend one and N")
    p.add_argument("data", help=field_help("data"))
    for name in ("text_column", "label_column"):
        p.add_argument(f"--{name.replace('_', '-')}", help=field_help(name))
    p.add_argument("--sample", type=int, default=None,
                   help=f"score at most this many examples (stratified; default {RANK_SAMPLE['image']} pictures or "
                        f"{RANK_SAMPLE['text']} texts)")
    p.add_argument("--json", action="store_true", help="one JSON object per model, then the recommendation")
    p.set_defaults(func=_rank)

    p = sub.add_parser("layers", help="what each block of a run's network sees, how much it changed, what it knows")
    p.add_argument("run", help="a run id or run folder")
    p.add_argument("--json", action="store_true", help="the whole report as one JSON object")
    p.set_defaults(func=_layers)

    p = sub.add_parser("runs", help="list earlier runs")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_runs)

    # Hidden commands take no help: argparse lists one given help=SUPPRESS as "==SUPPRESS==" in --help.
    p = sub.add_parser("ranking")  # what `start_ranking` starts: rank into a record
    p.add_argument("record")
    p.set_defaults(func=_ranking)

    p = sub.add_parser("worker")  # what the app starts for each run
    p.add_argument("run_dir", nargs="?")
    p.add_argument("--standby", action="store_true", help="import first, then wait for a run to be handed over")
    p.set_defaults(func=_worker)
    return parser


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

    from .data import DataError

    try:
        config = config_from(args)
    except (DataError, FileNotFoundError) as err:
        print(f"Cannot train: {err}", file=sys.stderr)
        return 2
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
        elif kind == "preparing" and not event.get("total"):  # a step of getting ready that is not counted
            print(f"{event['text']}…", file=sys.stderr)
        elif kind in ("note", "failed"):
            print(f"\n{event.get('text') or event.get('reason')}", file=sys.stderr)


def _print_summary(run, ending: dict) -> None:
    from .certainty import how_sure, one_answer
    from .data.examples import plural
    from .events import kept_epoch, why_it_ended

    metrics = run.metrics() or {}
    if ending["event"] == "failed":
        print(f"Training failed: {ending['reason']}")
        return
    print(f"\n{ending['event'].capitalize()} in {ending.get('elapsed_s', 0):.1f}s. "
          f"Validation accuracy {ending.get('best_val_accuracy') or 0:.1%}; kept {kept_epoch(ending.get('best_epoch') or 0)}. "
          f"{why_it_ended(run.events())}".rstrip())
    if "examples" in metrics:
        print(how_sure(metrics["accuracy"], metrics["examples"]))
        unlearned = one_answer(metrics.get("confusion") or [], metrics.get("classes") or [])
        if unlearned:
            print(unlearned)
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


def _rank(args) -> int:
    from .data import DataError
    from .select import rank_models, recommend, sample_data

    config = RunConfig(data=args.data, text_column=args.text_column, label_column=args.label_column)
    try:
        sample = sample_data(args.data, args.sample, config)
    except (DataError, FileNotFoundError) as err:
        print(f"Cannot rank: {err}", file=sys.stderr)
        return 2
    if not args.json:
        from .data import things

        print(f"Scoring {len(sample.examples)} of {sample.whole} {things(sample.kind)}, every class keeping its "
              f"share.", flush=True)
    ranking = rank_models(sample)
    for s in ranking:
        print(json.dumps({"model": s.model, "score": round(s.score, 4), "seconds": round(s.seconds, 2)}) if args.json
              else f"{s.model:24} {s.title:32} LogME {s.score:7.3f}  ({s.seconds:.1f}s)", flush=True)
    best = recommend(sample, ranking)
    print(json.dumps({"recommended": best.model, "unfreeze": best.unfreeze, "gap": round(best.gap, 4),
                      "reason": best.reason}) if args.json else f"\nRecommended: {best.reason}")
    return 0


def _layers(args) -> int:
    from .explain import layers_report, report_lines

    report = layers_report(args.run)
    print(json.dumps(report, default=str) if args.json else "\n".join(report_lines(report)))
    return 0


def _runs(args) -> int:
    from .models.catalog import default_model
    from .runs import list_runs

    for run in list_runs():
        status = run.status()
        metrics = run.metrics() or {}
        config = run.trained_config  # an automatic run: the model and blocks it chose
        model = config.model or default_model(run.kind).name  # named, as the app names it ("default" said nothing)
        if args.json:
            print(json.dumps({"id": run.id, "state": status.get("state"), "data": config.data, "model": model,
                              "unfreeze": config.unfreeze, "accuracy": metrics.get("accuracy")}))
        else:
            acc = f"{metrics['accuracy']:.1%}" if "accuracy" in metrics else "-"
            print(f"{run.id}  {status.get('state', '?'):11} {acc:>6}  {model}  {config.data}")
    return 0


def _ranking(args) -> int:
    from .ranking import run_job

    return run_job(Path(args.record))


def _worker(args) -> int:
    from .worker import run_worker

    if args.standby:
        from .standby import wait_for_run

        run_dir = wait_for_run()
        return run_worker(run_dir) if run_dir else 0
    return run_worker(Path(args.run_dir))


if __name__ == "__main__":
    sys.exit(main())
