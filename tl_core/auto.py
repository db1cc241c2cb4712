"""The automatic choices: `--model auto` and `--unfreeze auto`, resolved from the person's data before training.

    choice = choose(RunConfig(data="photos/", model=AUTO_MODEL, unfreeze=AUTO))
    choice.model, choice.unfreeze, choice.reason     # "efficientnet_lite0", 0, "EfficientNet-Lite0 fits ..."

`decide` is the one place the choices are made: training calls it through `choose`, and the app's ranking job
through `select.recommend`, whose record (`ranking.Recommended`) the Model and Train pages show; on the same data
and device both get the same model, blocks and reason. The model: the best LogME of the ranking, except that on a
CPU a smaller model scoring within CLOSE_SCORES of the best is taken. How many blocks: none below FEW_PER_CLASS
examples in the smallest class, else what the chosen model's per-block scores suggest (`suggest_unfreeze`), and every
block of a text model.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

from . import events
from .config import ALL, AUTO, AUTO_MODEL, RunConfig, unfreeze_flag, what_trains
from .models import default_model, find_model
from .ranking import DONE, Layers, Ranking, finished_ranking, rank_into, ranking_file
from .rundata import open_run_data

# With fewer than about 50 examples per class (the smallest class counted), only the new head usually does best
# (bench/tutorial_recipe.py); docs/selection.md measures the regret it costs.
FEW_PER_CLASS = 50
# LogME differences below this count as a tie, and on a CPU the smaller model then trains (the Model page's chart
# draws such scores nearly alike). Measured with
# bench/transferability.py on ants/bees, 40 per class: Lite1 -0.064 and Lite2 -0.022 with the same 5-fold probe
# accuracy (96.2 %), Lite0 -0.317 at 94.9 %; pretrained against random weights differ by 0.6-0.7. Cold, Lite0's
# frozen pass over 40 pictures took 5.5 s against 11.0 s (Lite1) and 10.8 s (Lite2): the smaller, the faster.
CLOSE_SCORES = 0.05
RANKING_NOW = "Ranking the available models on a sample of your data, to choose one"  # a step of getting ready
WAIT_S = 180.0  # a ranking of this data already running in the background is waited for, not repeated
# Once the curve says blocks must adapt, fine-tune at least this many. Measured on every suite dataset (Lite0 and
# MiniLM, docs/quality-long.md as of commit ec26e06): unfreeze 3 scored at least as high as unfreeze 1 and 2 on all 7,
# and higher on 4. The blocks after the peak alone proposed 1 on plant_tomato: 93.3 % against unfreeze 3's 96.2 %;
# with this floor the automatic choice there scored 96.0 % (docs/quality-long.md).
ADAPT_BLOCKS = 3
# A sentence model fine-tunes every layer, whatever its per-layer curve says. MiniLM in docs/quality.md's last three
# grid runs (commits 4cf564f, 8395c07, 0642478): every layer scored above the last 1, 2 and 3 on every text set in
# each (yelp 95.0 % against at most 94.0 all three times, sms_spam 99.4 against 98.8, ag_news 86.7-88.7 against
# 85.8-87.5), and above the new head alone by 4-5 points on yelp and sms_spam (ag_news -0.8 to +1.2); yelp's curve
# on the ranking sample climbed to its last layer, where the head alone scored 90.0 %.
WHOLE_TEXT_MODEL = ("fine-tuning every layer of a sentence model did better than fine-tuning only its last 1, 2 or 3 "
                    "on all three text sets TransferLab was tested on, so fine-tune all blocks (unfreeze all).")


@dataclass
class Choice:
    model: str            # catalogue name (or the config's own model when only the blocks were automatic)
    unfreeze: int         # blocks to fine-tune, 0 = only the new head
    reason: str           # the sentences a person reads; "" when nothing was automatic
    why_model: str = ""   # the model's part of the reason ("" when the model was given)
    why_blocks: str = ""  # the blocks' part ("" when they were given)

    def applied(self, config: RunConfig) -> RunConfig:
        """`config` with the automatic choices made: what the trainer loads and model.json records."""
        return dataclasses.replace(config, model=self.model, unfreeze=self.unfreeze)

    def event_fields(self) -> dict:
        """What the `started` event adds: the choice, for runs that asked for one."""
        return {"chosen_model": self.model, "chosen_unfreeze": self.unfreeze, "reason": self.reason} \
            if self.reason else {}


def is_auto(config: RunConfig) -> bool:
    return config.model == AUTO_MODEL or config.unfreeze == AUTO


def choose(config: RunConfig, on_event: events.EventSink = events.ignore, on_cpu: bool | None = None) -> Choice:
    """The model and the blocks `config` leaves to the engine, with the reason in sentences (`decide`), from the
    app's ranking of this data when there is one. `on_cpu` defaults to where `config.device` would train."""
    if not is_auto(config):
        return Choice(config.model, config.unfreeze, "")
    if on_cpu is None:
        from .device import pick_runtime

        on_cpu = pick_runtime(config.device).device.type == "cpu"
    dataset = open_run_data(config).dataset
    ranking = ranking_for(config, on_event) if config.model == AUTO_MODEL and not config.from_scratch else None

    def layers_of(model: str) -> Layers:
        if ranking is not None and ranking.layers is not None and ranking.layers.model == model:
            return ranking.layers
        from .select import layer_scores, sample_data

        return layer_scores(sample_data(config.data, config=config), model)

    return decide(config, dataset.kind, smallest_class(dataset), on_cpu, ranking.scores if ranking else [],
                  layers_of)


def decide(config: RunConfig, kind: str, smallest: int, on_cpu: bool, scores: list,
           layers_of: Callable[[str], Layers]) -> Choice:
    """The automatic choices from what they rest on: the models' scores (best first), the smallest class, the
    device, and a model's per-block scores (`layers_of`, asked only when the blocks are automatic and the smallest
    class is not small)."""
    if config.model == AUTO_MODEL and not config.from_scratch:
        model, why_model = pick_model(scores, on_cpu)
    elif config.model == AUTO_MODEL:
        model, why_model = scratch_model(kind)
    else:
        model, why_model = config.model or default_model(kind).name, ""
    unfreeze, why_blocks = (pick_unfreeze(smallest, lambda: layers_of(model)) if config.unfreeze == AUTO
                            else (config.unfreeze, ""))
    blocks = f"{what_trains(unfreeze, config.from_scratch)} (unfreeze {unfreeze_flag(unfreeze)})"
    yours = config.unfreeze != AUTO and not config.from_scratch  # the model chosen for the person, not the blocks
    chosen = f"So: {_title(model)}, " + (f"and the blocks you chose: {blocks}." if yours else f"{blocks}.")
    return Choice(model, unfreeze, " ".join(s for s in (why_model, why_blocks, chosen) if s), why_model, why_blocks)


def scratch_model(kind: str) -> tuple[str, str]:
    """The model an automatic run trains from scratch, and why: the smallest, since a score of pretrained features
    cannot choose among networks whose weights start random (the Train page draws this one when from scratch is
    ticked, whatever the ranking chose)."""
    model = default_model(kind).name
    return model, f"From scratch no pretrained weights are kept, so the smallest model, {_title(model)}, trains."


def ranking_for(config: RunConfig, on_event: events.EventSink = events.ignore) -> Ranking:
    """The finished ranking of `config`'s data: the app's when there is one (waited for while it runs),
    else made now and written where the app will find it."""
    ranking = finished_ranking(config, wait_s=WAIT_S)
    if ranking is not None:
        return ranking
    on_event(events.make(events.PREPARING, text=RANKING_NOW))
    return rank_into(ranking_file(config), config, related=False)  # the choice does not use the relatedness


def pick_model(scores: list, on_cpu: bool) -> tuple[str, str]:
    """The best-scored model, or on a CPU the smallest within CLOSE_SCORES of it; with the reason."""
    if not scores:
        raise ValueError("No model for this kind of data is available offline: connect once to download one.")
    best = scores[0]
    said = (f"{best.title} fits your data best of {len(scores)} available models (LogME {best.score:.2f})."
            if len(scores) > 1 else f"{best.title} is the one model available for your data.")
    if not on_cpu:
        return best.model, said
    close = [s for s in scores if s.score >= best.score - CLOSE_SCORES]
    small = min(close, key=lambda s: _params(s.model))
    if small.model == best.model:
        return best.model, said
    return small.model, (f"{small.title} scores within {CLOSE_SCORES} of the best, {best.title} ({small.score:.2f} "
                         f"against {best.score:.2f}), and is smaller, so it trains faster on this computer's CPU.")


def pick_unfreeze(smallest: int, layers: Callable[[], Layers | None]) -> tuple[int, str] | None:
    """0 when the smallest class has few examples, else what the model's per-block scores (`layers()`) suggest;
    with the reason. None when those scores are not known (`layers()` gave None)."""
    few = few_examples(smallest)
    if few:
        return 0, few
    found = layers()
    return None if found is None else (found.unfreeze, found.reason)


def suggest_unfreeze(titles: list[str], scores: list[float], kind: str = "image",
                     tolerance: float = 0.01) -> tuple[int, str]:
    """Peak before the last block: fine-tune the blocks after the peak, and at least ADAPT_BLOCKS. Climbing to the
    end: the head alone. A text model: every block (WHOLE_TEXT_MODEL), the curve said in words all the same.

    The later blocks of a network are specialised to what it learned (Yosinski et al. 2014); where their
    features separate the person's classes worse than an earlier block's, they need to adapt. A peak within
    `tolerance` of the last block's score counts as the end, so noise does not unfreeze a block.
    """
    last = len(scores) - 1
    peak = max(range(len(scores)), key=scores.__getitem__)  # the first, on a tie
    climbs = scores[last] >= scores[peak] - tolerance
    if kind == "text":
        # The curve's own conclusion first, then why a sentence model does otherwise: "peaks at Layer 4 and falls
        # after it, and fine-tuning every layer ..." read as a non sequitur in a walk on yelp reviews
        curve = (f"The score climbs to the last layer ({titles[last]}), which alone would say the new head will do; "
                 f"yet" if climbs else
                 f"The score peaks at {titles[peak]} and falls after it, so the later layers need to adapt; and")
        return ALL, f"{curve} {WHOLE_TEXT_MODEL}"
    if climbs:
        return 0, (f"The score climbs to the last block ({titles[last]}): its features already suit your classes, "
                   f"so training only the new head will do.")
    after_peak = last - peak
    n = min(max(after_peak, ADAPT_BLOCKS), last)
    said = (f"The score peaks at {titles[peak]} and falls after it: {_last_blocks(after_peak)} learned things "
            f"specific to what the model was trained on, so fine-tune {_last_blocks(n)} (unfreeze {n})")
    if n == after_peak:
        return n, said + "."
    return n, said + (f": once blocks need to adapt, {n} did at least as well as fewer on every picture set TransferLab "
                      f"was tested on.")


def _last_blocks(n: int) -> str:
    return "the last block" if n == 1 else f"the last {n} blocks"


def few_examples(smallest: int) -> str:
    """Why only the new head should train when the smallest class has fewer than FEW_PER_CLASS examples;
    "" when it has enough."""
    if smallest >= FEW_PER_CLASS:
        return ""
    return (f"Your smallest class has {smallest} example{'' if smallest == 1 else 's'}, fewer than about "
            f"{FEW_PER_CLASS}: with so few, fine-tuning blocks tends to overfit and training only the new head "
            f"usually does best.")


def blocks_proposal(ranking: Ranking | None, model: str, smallest: int) -> tuple[int, str] | None:
    """(blocks, why) that training with `--unfreeze auto` will fine-tune for `model` (AUTO_MODEL: the model the
    ranking chose), read without torch from the ranking's record; None while that is not known yet."""
    done = ranking if ranking is not None and ranking.state == DONE else None
    if model == AUTO_MODEL:
        chosen = done.recommended if done is not None else None
        return None if chosen is None else (chosen.unfreeze, chosen.why_blocks)
    return pick_unfreeze(smallest, lambda: done.layers if done is not None and done.layers is not None
                         and done.layers.model == model else None)


def smallest_class(dataset) -> int:
    """Examples in the dataset's smallest class (0 with no classes)."""
    labels = [e.label for e in dataset.examples]
    return min((labels.count(c) for c in dataset.classes), default=0)


def _params(model: str) -> float:
    info = find_model(model)
    return info.params_m if info else float("inf")


def _title(model: str) -> str:
    info = find_model(model)
    return info.title if info else model
