"""Which model, and how many layers, on the suite: scores against accuracies, the automatic choice against the grid.

Not bench/select.py, as issue 15 names it: with bench/ on sys.path that file shadows the standard library's `select`,
which `subprocess` imports.

    .venv/bin/python bench/transferability.py                 # every suite dataset -> docs/selection.md and .json
    .venv/bin/python bench/transferability.py --only hymenoptera_data,yelp_labelled --per-class 40 --out /tmp/s.md
    .venv/bin/python bench/transferability.py --render docs/selection.json   # rewrite the page, run nothing
    .venv/bin/python bench/transferability.py --choice-only   # re-time only the choice (3.), the scores kept from .json

1. Scores, on a stratified sample of --per-class examples per class: every model available offline for the data's
   kind, pretrained and with random weights (so a ranking has something to rank): LogME (`tl_core.select`), the
   alternative (the engine's linear probe, 5-fold accuracy on the same features) and their seconds; Kendall's tau
   between the two orders. Also the relatedness gap and the per-block curve of the best model.
2. Against training, from docs/quality.json (bench/quality.py's grid, one record per dataset x model x mode): each
   pretrained model's head-only and best fine-tuned accuracy, and Kendall's tau between each score and them, per
   dataset and pooled (pairs within a dataset only: scores of different datasets are not comparable).
3. The automatic choice, as `--model auto --unfreeze auto` makes it (`tl_core.choose`, on the full data through the
   engine's sample, `tl_core.config.RANK_SAMPLE`, in a fresh workspace: cold caches, as a new user's first
   run): its seconds; the
   chosen cell of the grid, the best cell (models x head only, unfreeze 1, 2, 3, all), the regret in points, and
   the time (choice + chosen cell) against the grid's total; the choice's time against one head-only run.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

from harness import ROOT, SHARED, commit, fmt, log, machine, pct
from quality import SUITE, write

from tl_core.config import RANK_SAMPLE, unfreeze_flag

GRID = ("head only", "unfreeze 1", "unfreeze 2", "unfreeze 3", "all")  # quality.json's modes the choice picks from
FINE_TUNED = GRID[1:]
TARGET_REGRET = 1.0  # points: issue 15's target on every suite dataset


# ---------------------------------------------------------------- 1. scores on a sample

def score_dataset(path: str, per_class: int) -> dict:
    from tl_core import catalog
    from tl_core.select import layer_scores, pooled_features, relatedness, sample_data
    from tl_core.transferability import logme, probe_accuracy, reduce_dims

    whole = sample_data(path, at_most=10**9)
    sample = sample_data(path, at_most=per_class * len(whole.classes))
    rows = []
    for model in [m.name for m in catalog(sample.kind) if m.available]:
        for pretrained in (True, False):
            t0 = time.perf_counter()
            feats, labels = pooled_features(model, sample, pretrained)
            t1 = time.perf_counter()
            score = logme(reduce_dims(feats), labels)
            t2 = time.perf_counter()
            probe = probe_accuracy(feats, labels)
            rows.append(dict(model=model, weights="pretrained" if pretrained else "random", features_s=t1 - t0,
                             logme=score, logme_s=t2 - t1, probe=probe, probe_s=time.perf_counter() - t2))
            log(f"  {model:20} {rows[-1]['weights']:10} LogME {score:7.3f} ({t2 - t1:.2f}s)  probe {probe:6.1%} "
                f"({rows[-1]['probe_s']:.1f}s)  features {t1 - t0:.1f}s")
    best = max((r for r in rows if r["weights"] == "pretrained"), key=lambda r: r["logme"])["model"]
    related, layers = relatedness(sample, best), layer_scores(sample, best)
    return dict(examples=len(sample.examples), classes=len(sample.classes), rows=rows,
                tau_logme_probe=tau([r["logme"] for r in rows], [r["probe"] for r in rows]), best=best,
                gap=related.gap, layer_scores=layers.scores, blocks=layers.blocks, unfreeze=layers.unfreeze)


def tau(x: list[float], y: list[float]) -> float | None:
    """Kendall's tau (tau-b), None with fewer than two candidates or a constant side."""
    from scipy.stats import kendalltau

    if len(x) < 2 or len(set(x)) < 2 or len(set(y)) < 2:
        return None
    return float(kendalltau(x, y).statistic)


def pooled_tau(groups: list[tuple[list[float], list[float]]]) -> float | None:
    """(concordant - discordant) / pairs, over the pairs within each group only (tau-a)."""
    signs = [_sign(x[i] - x[j]) * _sign(y[i] - y[j]) for x, y in groups for i, j in combinations(range(len(x)), 2)]
    return sum(signs) / len(signs) if signs else None


def _sign(v: float) -> int:
    return (v > 0) - (v < 0)


# ---------------------------------------------------------------- 3. the automatic choice

def choose_cold(path: str) -> dict:
    """`choose` as a `--model auto --unfreeze auto` run makes it, in a fresh workspace, timed: the process's imports
    paid beforehand (a head-only run's time in quality.json leaves them out too), no network kept from before."""
    from tl_core import AUTO, AUTO_MODEL, RunConfig, choose, select
    from tl_core.device import pick_runtime
    from tl_core.models import load_model
    from tl_core.ranking import ranking_status

    os.environ["TRANSFERLAB_HOME"] = tempfile.mkdtemp(prefix="transferlab-choice-")
    config = RunConfig(data=path, model=AUTO_MODEL, unfreeze=AUTO)
    runtime = pick_runtime("auto")
    load_model("", select.sample_data(path, at_most=2).kind, 2)  # the imports (timm or transformers), paid here
    select._built.cache_clear()
    start = time.perf_counter()
    choice = choose(config, on_cpu=runtime.device.type == "cpu")
    seconds = time.perf_counter() - start
    ranking = ranking_status(config)
    exported = again_with_graphs(config, runtime.device.type == "cpu")
    log(f"  choice: {choice.model}, unfreeze {unfreeze_flag(choice.unfreeze)} ({seconds:.1f}s on {runtime.label}, "
        f"{exported:.1f}s with the graphs exported): {choice.reason}")
    return dict(model=choice.model, unfreeze=choice.unfreeze, reason=choice.reason, seconds=seconds,
                seconds_exported=exported, device=runtime.label,
                ranking=[dict(model=s.model, score=s.score, seconds=s.seconds) for s in ranking.scores])


def again_with_graphs(config, on_cpu: bool) -> float:
    """Seconds of the same choice made again in the same workspace with only the exported ONNX graphs kept (the
    ranking, decoded pictures and frozen features removed, the networks built again): what a person's next data
    pays once any earlier ranking on this computer exported them, since a graph serves every dataset."""
    from tl_core import choose, select
    from tl_core.ranking import ranking_file
    from tl_core.workspace import cache_dir

    shutil.rmtree(ranking_file(config).parent)
    for cache in ("decoded", "frozen"):
        shutil.rmtree(cache_dir(cache))
    select._built.cache_clear()
    start = time.perf_counter()
    choose(config, on_cpu=on_cpu)
    return time.perf_counter() - start


# ---------------------------------------------------------------- 2 and 3 against quality.json

def engine_cells(quality: dict, dataset: str) -> list[dict]:
    return [r for r in quality.get("records", []) if r["dataset"] == dataset and r["pipeline"] == "engine"
            and r["mode"] in GRID and r.get("best_val_accuracy") is not None]


def mode_of(unfreeze: int, blocks: int) -> str | None:
    """quality.json's mode for an unfreeze choice; None when the grid has no such cell."""
    if unfreeze == 0:
        return "head only"
    if unfreeze < 0 or unfreeze >= blocks:
        return "all"
    return f"unfreeze {unfreeze}" if unfreeze <= 3 else None


def against_grid(result: dict, quality: dict | None, dataset: str) -> None:
    """Add each model's trained accuracies and the choice's regret and time, where quality.json has them."""
    if not quality:
        return
    cells = engine_cells(quality, dataset)
    for row in result["rows"]:
        mine = [c for c in cells if c["model"] == row["model"]] if row["weights"] == "pretrained" else []
        head = next((c for c in mine if c["mode"] == "head only"), None)
        tuned = [c["best_val_accuracy"] for c in mine if c["mode"] in FINE_TUNED]
        row["head_only"] = head["best_val_accuracy"] if head else None
        row["fine_tuned"] = max(tuned) if tuned else None
    choice = result["choice"]
    mode = mode_of(choice["unfreeze"], len(result["blocks"]))
    chosen = next((c for c in cells if c["model"] == choice["model"] and c["mode"] == mode), None)
    best = max(cells, key=lambda c: c["best_val_accuracy"], default=None)
    head = next((c for c in cells if c["model"] == choice["model"] and c["mode"] == "head only"), None)
    result["grid"] = dict(
        cells=len(cells), grid_s=sum(c.get("wall_s") or 0 for c in cells), chosen_mode=mode,
        chosen_accuracy=chosen and chosen["best_val_accuracy"], chosen_s=chosen and chosen.get("wall_s"),
        best_model=best and best["model"], best_mode=best and best["mode"],
        best_accuracy=best and best["best_val_accuracy"], head_only_s=head and head.get("wall_s"))


# ---------------------------------------------------------------- the page

def report(saved: dict) -> str:
    results, quality_note = saved["results"], saved["quality"]
    lines = ["# Which model, and how many layers: the scores and the automatic choice on the suite\n",
             f"Written by `bench/transferability.py` on {saved['when']} ({saved['machine'].get('cpu', '?')}, "
             f"{saved['machine'].get('cores')} cores, CPU flags {saved['machine'].get('features', '?')}; commit "
             f"{saved['machine'].get('commit') or '?'}; load {saved['load'][0]:.1f} at the start). Scores on "
             f"{saved['per_class']} examples per class; the choice on the full data (the engine's sample of "
             f"{_sample_size(saved)}){_choice_when(saved)}. Accuracies: {quality_note}\n",
             "## Scores against training\n",
             "| dataset | model | weights | LogME | probe (5-fold) | head only | best fine-tuned | scores (s) |",
             "|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        for row in sorted(r["rows"], key=lambda row: -row["logme"]):
            lines.append(f"| {name} | {row['model']} | {row['weights']} | {row['logme']:.3f} | {pct(row['probe'])} "
                         f"| {pct(row.get('head_only'))} | {pct(row.get('fine_tuned'))} | "
                         f"{row['features_s'] + row['logme_s']:.1f} |")
    lines += ["", tau_table(results), "", choice_table(results), "", layers_table(results), "", NOTES]
    return "\n".join(lines) + "\n"


def _sample_size(saved: dict) -> str:
    size = saved.get("rank_sample")
    return f"at most {size['image']} pictures or {size['text']} texts" if size else "its default size then"


def _choice_when(saved: dict) -> str:
    again = saved.get("choice_when")
    at = f" at commit {saved['choice_commit']}" if saved.get("choice_commit") else ""
    said = f", timed again{at} on {again} (load {saved['choice_load'][0]:.1f} at its start)" if again else ""
    return said + (f" ({saved['choice_note']})" if saved.get("choice_note") else "")


def tau_table(results: dict) -> str:
    lines = ["## Rank correlation (Kendall's tau)\n",
             "Pretrained models only against trained accuracies (their random twins were not trained); all "
             "candidates for LogME against the probe. Per dataset tau-b; pooled tau-a over the pairs within each "
             "dataset. A dash: fewer than two models have that accuracy, or one side is constant (a text set has one "
             "model; bench/quality.py fine-tunes Lite0 alone unless --all-modes). Where the models' accuracies differ "
             "by a validation picture or two, as in the table above, tau reads that noise more than the scores.\n",
             "| dataset | LogME vs probe | LogME vs head only | probe vs head only | LogME vs best fine-tuned |",
             "|---|---|---|---|---|"]
    pairs = {k: [] for k in ("lp", "lh", "ph", "lf")}
    for name, r in results.items():
        trained = [row for row in r["rows"] if row.get("head_only") is not None]
        tuned = [row for row in r["rows"] if row.get("fine_tuned") is not None]
        cells = {"lp": ([x["logme"] for x in r["rows"]], [x["probe"] for x in r["rows"]]),
                 "lh": ([x["logme"] for x in trained], [x["head_only"] for x in trained]),
                 "ph": ([x["probe"] for x in trained], [x["head_only"] for x in trained]),
                 "lf": ([x["logme"] for x in tuned], [x["fine_tuned"] for x in tuned])}
        for key, pair in cells.items():
            pairs[key].append(pair)
        lines.append(f"| {name} | " + " | ".join(fmt(tau(*cells[k]), ".2f") for k in pairs) + " |")
    lines.append("| **pooled** | " + " | ".join(fmt(pooled_tau(pairs[k]), ".2f") for k in pairs) + " |")
    return "\n".join(lines)


def choice_table(results: dict) -> str:
    lines = ["## The automatic choice against the best of the grid\n",
             f"Target: regret at most {TARGET_REGRET:.0f} point on every dataset, at a fraction of the grid's time.\n",
             "| dataset | chosen | its accuracy | best of the grid | regret (points) | choice (s) | with the graphs "
             "exported (s) | choice + its run (s) | grid (s, cells) | choice / the chosen model's head-only run |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    met = []
    for name, r in results.items():
        c, g = r["choice"], r.get("grid") or {}
        regret = None if g.get("chosen_accuracy") is None or g.get("best_accuracy") is None \
            else (g["best_accuracy"] - g["chosen_accuracy"]) * 100
        total = None if g.get("chosen_s") is None else c["seconds"] + g["chosen_s"]
        best = f"{g['best_model']}, {g['best_mode']}: {pct(g['best_accuracy'])}" if g.get("best_model") else "—"
        head_s = g.get("head_only_s")
        per_head = fmt(c["seconds"] / head_s, ".2f", "×") if head_s else "—"
        if head_s and c.get("seconds_exported"):
            per_head += f" ({c['seconds_exported'] / head_s:.2f}×)"
        met += [] if regret is None else [regret <= TARGET_REGRET]
        lines.append(f"| {name} | {c['model']}, unfreeze {unfreeze_flag(c['unfreeze'])} | "
                     f"{pct(g.get('chosen_accuracy'))} | {best} | {fmt(regret, '.1f')} | {c['seconds']:.1f} | "
                     f"{fmt(c.get('seconds_exported'))} | {fmt(total)} | {fmt(g.get('grid_s'), '.0f')}, "
                     f"{g.get('cells', 0)} | {per_head} |")
    lines += ["", f"Regret at most {TARGET_REGRET:.0f} point on {sum(met)} of the {len(met)} datasets whose chosen "
              f"cell is in the grid (of {len(results)}).", "", "Reasons given:", ""]
    lines += [f"- **{name}**: {r['choice']['reason']}" for name, r in results.items()]
    return "\n".join(lines)


def layers_table(results: dict) -> str:
    lines = ["## Relatedness and the per-block curve of the best-scored model (on the sample)\n",
             "| dataset | model | gap (pretrained - random) | LogME after each block, input side first | suggests |",
             "|---|---|---|---|---|"]
    for name, r in results.items():
        curve = " ".join(f"{s:.2f}" for s in r["layer_scores"])
        lines.append(f"| {name} | {r['best']} | {r['gap']:.2f} | {curve} | unfreeze {unfreeze_flag(r['unfreeze'])} |")
    return "\n".join(lines)


NOTES = """## How to read it

- LogME (You et al., ICML 2021) is the evidence of a Bayesian linear head on the frozen features, per example:
  only differences on the same examples mean anything. The probe is the engine's own linear probe, 5-fold.
- Head-only and fine-tuned accuracies are best validation accuracies from docs/quality.json (bench/quality.py), on
  the engine's own split of the full data, under that bench's time limits.
- The choice's time is what a `--model auto --unfreeze auto` run adds before it trains, with cold caches: decoding
  the sample and one frozen pass per model (every block's pooled output: the score and the per-block curve), plus
  exporting each network's ONNX graph once. The chosen model's random-weight twin (the relatedness) is not in it:
  the choice does not use it, so the app measures it when it shows the ranking. *With the graphs exported* is
  the same choice again with only those graphs kept: a graph serves every dataset, so any later data on the same
  computer pays this; the ratio in brackets is that against the head-only run. The app ranks in the background
  while the person reads the Model page, so a run started later reuses it.
"""


# ---------------------------------------------------------------- running it

def choices_again(saved: dict, args: argparse.Namespace) -> dict:
    """`saved` with the automatic choice of each --only dataset made and timed again, against the same grid."""
    quality = json.loads(args.quality.read_text()) if args.quality.exists() else None
    suites = {s.name: s for s in SUITE}
    saved.pop("choice_note", None)  # it spoke of the timing this one replaces
    saved.update(choice_when=datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), choice_commit=commit(ROOT),
                 choice_load=list(os.getloadavg()),
                 rank_sample=RANK_SAMPLE, quality=quality_note(args.quality, quality))
    for name in args.only.split(","):
        log(f"{name}:")
        result = saved["results"][name]
        result["choice"] = choose_cold(str(SHARED / suites[name].path))
        against_grid(result, quality, name)
    return saved


def quality_note(path: Path, quality: dict | None) -> str:
    """Which grid the accuracies, regret and grid times come from, in the page's words."""
    if quality is None:
        return (f"{path} is missing (bench/quality.py writes it), so no trained accuracies, regret or grid time "
                f"below.")
    return f"{path.name} of {quality.get('when', '?')}" + (" (a --quick run)" if quality.get("quick") else "")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(s.name for s in SUITE), help="comma-separated suite datasets")
    parser.add_argument("--per-class", type=int, default=100, help="examples per class for the scores (part 1)")
    parser.add_argument("--quality", type=Path, default=ROOT / "docs" / "quality.json")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "selection.md")
    parser.add_argument("--render", type=Path, default=None, help="rewrite the page from a selection.json")
    parser.add_argument("--choice-only", action="store_true",
                        help="time only the automatic choice again (part 3) for --only, keeping the scores of --out's "
                             ".json; about a minute a picture set on 2 loaded cores")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.render:
        saved = json.loads(args.render.read_text())
    elif args.choice_only:
        saved = choices_again(json.loads(args.out.with_suffix(".json").read_text()), args)
        write(args.out.with_suffix(".json"), json.dumps(saved, indent=1, default=str))
    else:
        quality = json.loads(args.quality.read_text()) if args.quality.exists() else None
        saved = {"when": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), "machine": machine(),
                 "load": list(os.getloadavg()), "per_class": args.per_class, "rank_sample": RANK_SAMPLE, "results": {},
                 "quality": quality_note(args.quality, quality)}
        suites = {s.name: s for s in SUITE}
        for name in args.only.split(","):
            path = str(SHARED / suites[name].path)
            log(f"{name}:")
            os.environ["TRANSFERLAB_HOME"] = tempfile.mkdtemp(prefix="transferlab-scores-")
            result = score_dataset(path, args.per_class)
            result["choice"] = choose_cold(path)
            against_grid(result, quality, name)
            saved["results"][name] = result
        write(args.out.with_suffix(".json"), json.dumps(saved, indent=1, default=str))
    text = report(saved)
    write(args.out, text)
    log(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
