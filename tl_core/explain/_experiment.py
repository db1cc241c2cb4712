""""Does transfer learning help here?": one click, three runs, one sentence.

The same data, split and budget (at most this many epochs and this many seconds), three starting points,
trained in this order:
(a) pretrained, head only: the network as downloaded, only a new last layer trains;
(b) pretrained, last N blocks: the new head plus the last N blocks adapt to the data;
(c) from scratch: random weights, everything trains.
The pretrained runs go first because they show results within seconds; from scratch went first before,
and on a 2-core CPU with 150 photos the chart then stayed empty for 84 s and from scratch took 3 min 17 s of
the 5 minutes. The time limit bounds the rest: head only takes seconds, the other two stop at their
minute (plus the step under way, scoring and saving), so the whole comparison takes about 2 minutes.
Each way of training (an "arm" in the code) is an ordinary run (the app starts, queues and shows it like any
other), tagged with `extra={"experiment": id, "arm": ...}` so the three can be found and compared. The takeaway
is computed from the runs' own epoch events, so it states what happened, in accuracy and seconds.
"""
from __future__ import annotations

import dataclasses
import secrets
import time

from .. import events
from ..config import ALL, NEVER, RunConfig, what_trains
from ..data import duration, plural

SCRATCH, HEAD, BLOCKS = "scratch", "head", "blocks"
ARMS = (HEAD, BLOCKS, SCRATCH)  # the order they train in: results within seconds first, the slow baseline last
EXPERIMENT_EPOCHS = 8  # the shared budget when the base config leaves epochs automatic (0)
GUESSING = 0.02  # within this of 1 / classes, an accuracy is said to be no better than guessing
EXPERIMENT_SECONDS = 60  # each run's time limit when the base sets none: from scratch uses it all, the others rarely


def arm_title(arm: str, unfreeze: int | None = None) -> str:
    """What the UI calls an arm, in `what_trains`' short words: "From scratch", "Pretrained, head only",
    "Pretrained, last 2 blocks"."""
    if arm == SCRATCH:
        return what_trains(ALL, from_scratch=True, short=True).capitalize()
    return f"Pretrained, {what_trains(0 if arm == HEAD else unfreeze, short=True)}"


def experiment_configs(base: RunConfig, unfreeze_n: int, experiment_id: str | None = None) -> list[RunConfig]:
    """The three runs as RunConfigs, in the order they train: head only, last N blocks, from scratch.

    Everything but the starting point is shared: data, model, seed, split, batch size, augmentation, the
    number of epochs (the base's, or EXPERIMENT_EPOCHS when it is automatic) and the time limit (the base's,
    or EXPERIMENT_SECONDS); none stops early for lack of progress. The learning rate stays as the base sets
    it; 0 lets each run use the engine's default for its mode, since a head and a randomly started network
    do not learn well at the same rate.
    """
    if unfreeze_n == 0 or unfreeze_n < ALL:
        raise ValueError(f"The third run fine-tunes the last N blocks, so N must be 1 or more (or -1 for all), "
                         f"not {unfreeze_n}; N = 0 would repeat the head-only run.")
    experiment_id = experiment_id or time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)
    budget = dict(epochs=base.epochs or EXPERIMENT_EPOCHS, time_limit_s=base.time_limit_s or EXPERIMENT_SECONDS,
                  early_stop=NEVER)
    starts = {HEAD: dict(from_scratch=False, unfreeze=0), BLOCKS: dict(from_scratch=False, unfreeze=unfreeze_n),
              SCRATCH: dict(from_scratch=True)}  # RunConfig makes it unfreeze=ALL
    out = []
    for arm in ARMS:
        title = arm_title(arm, unfreeze_n)
        name = f"{title} · {base.name}" if base.name else title  # the arm first: All runs' name column cut the rest
        extra = {**base.extra, "experiment": experiment_id, "arm": arm}
        out.append(dataclasses.replace(base, name=name, extra=extra, **budget, **starts[arm]))
    return out


def what_is_equal(epochs: int, seconds: float) -> str:
    """What the three runs share and what they do not, as the page says it under the button."""
    return (f"The same for all three: your data, the same split into examples to train on and examples to "
            f"check with, and the same budget of at most {epochs} epoch{'s' if epochs != 1 else ''} or "
            f"{duration(seconds)} each, whichever comes first. Not the same: what each starts from and how much "
            "of the network learns, so an epoch from scratch costs far more time and it usually runs out of "
            "time before its epochs are done.")


def start_experiment(base: RunConfig, unfreeze_n: int) -> dict:
    """Start the three runs, pretrained ones first (they queue for the device in this order); {arm: Run}."""
    from ..runs import start_run

    return {c.extra["arm"]: start_run(c) for c in experiment_configs(base, unfreeze_n)}


def experiment_runs(experiment_id: str) -> dict:
    """{arm: Run} for an experiment started earlier (e.g. after a page reload)."""
    from ..runs import list_runs

    found = {}
    for run in list_runs():
        extra = run.config.extra or {}
        if extra.get("experiment") == experiment_id and extra.get("arm") in ARMS:
            found.setdefault(extra["arm"], run)
    return found


def takeaway(runs_events: dict[str, list[dict]], unfreeze_n: int | None = None) -> str:
    """A plain-language verdict from the arms' events, e.g.
    "The pretrained model (head only) reached 94% in 8 s; from scratch reached 66% after 4 min. Transfer
    learning helps here: 28 points more accuracy, and it passed from scratch's best after 3 s."

    An arm's result is its best validation accuracy and the time (since its run started) of the first
    epoch that reached it; the better pretrained arm speaks for "the pretrained model". Numbers of a
    run still training are marked "so far"; one its time limit stopped says so.
    """
    arms = {arm: _Arm(evs) for arm, evs in runs_events.items() if arm in ARMS}
    scratch = arms.get(SCRATCH)
    pretrained = [arms[a] for a in (HEAD, BLOCKS) if a in arms and arms[a].best is not None]
    if not pretrained:
        waiting = "the pretrained runs have no finished epoch yet"
        if scratch is None or scratch.best is None:
            return "No run has finished an epoch yet; the comparison appears after the first one."
        return f"From scratch reached {scratch.says()}; {waiting}."
    best = max(pretrained, key=lambda a: (round(a.best[0], 3), -a.best[1]))
    label = what_trains(0, short=True) if best is arms.get(HEAD) else _blocks_label(arms[BLOCKS].events, unfreeze_n)
    if best is not arms.get(HEAD) and best.first_best.get("head_fit"):  # no block had trained yet: not their doing
        label = f"its new head, fitted before the {label} trained"
    first = f"The pretrained model ({label}) reached {best.says('in')}"
    return _against_scratch(first, best, scratch) + _head_fitted_or_trained(best, arms.get(HEAD))


def _against_scratch(first: str, best: "_Arm", scratch: "_Arm | None") -> str:
    """The pretrained model's result (`first`) against from scratch's, and what that says."""
    if scratch is None or scratch.best is None:
        ending = "from scratch stopped without a result" if scratch is not None and scratch.failed \
            else "from scratch has no finished epoch yet"
        return f"{first}; {ending}."
    sentence = f"{first}; from scratch reached {scratch.says()}."
    (acc, seconds), (s_acc, s_seconds) = best.best, scratch.best
    gap = (acc - s_acc) * 100
    if gap >= 2:
        matched = best.time_to(s_acc)
        sooner = f", and it passed from scratch's best after {duration(matched)}" \
            if matched is not None and matched < s_seconds / 2 else ""
        return f"{sentence} Transfer learning helps here: {gap:.0f} points more accuracy{sooner}."
    if gap > -2:
        sooner = ", but gets there sooner" if seconds < s_seconds / 2 else ""
        return f"{sentence} Both end up about as accurate: the pretrained start adds little accuracy here{sooner}."
    return (f"{sentence} Here training from scratch did better; this data may be unlike the pictures or texts "
            "the model was pretrained on.")


def _head_fitted_or_trained(best: "_Arm", head: "_Arm | None") -> str:
    """Why the head-only run scored below a head fitted in one step (the fine-tuning run's epoch 0), when it did:
    in the browser, "head only: 73 %" beside a fine-tuning line starting at 100 % before any block trained."""
    if head is None or head.best is None or not best.first_best.get("head_fit") or head.best[0] >= best.best[0]:
        return ""
    return (f" The head-only run trains its head step by step and reached {_pct(head.best[0])} in its "
            f"{plural(len(head.epochs), 'epoch')}; fitted in one step on the same features, as the fine-tuning run "
            f"does before any block trains, the head got {_pct(best.best[0])}.")


class _Arm:
    """One arm's epoch events, reduced to what the takeaway says about it."""

    def __init__(self, evs: list[dict]):
        self.events = evs
        # the fitted head too (epoch 0): a fine-tuning run keeps it when no epoch scores above it
        self.epochs = [e for e in events.scored_epochs_in(evs) if e.get("val_accuracy") is not None]
        self.running = not any(e.get("event") in events.ENDINGS for e in evs)
        self.failed = any(e.get("event") == events.FAILED for e in evs)
        started = next((e for e in evs if e.get("event") == "started"), {})
        self.classes = len(started.get("classes") or [])  # 0 when the run did not say (older runs)
        self.best: tuple[float, float] | None = None   # (best val accuracy, elapsed s at the first epoch reaching it)
        self.first_best: dict = {}                      # that epoch
        if self.epochs:
            top = max(e["val_accuracy"] for e in self.epochs)
            self.best = (float(top), self.time_to(top))
            self.first_best = next(e for e in self.epochs if e["val_accuracy"] >= top)

    def time_to(self, accuracy: float) -> float | None:
        """Elapsed seconds at the first epoch with at least this accuracy, or None if it never got there."""
        return next((float(e.get("elapsed_s", 0.0)) for e in self.epochs if e["val_accuracy"] >= accuracy), None)

    def says(self, preposition: str = "after") -> str:
        acc, seconds = self.best
        said = f"{_pct(acc)} {preposition} {duration(seconds)}" + (" so far" if self.running else "")
        ran_out = time_ran_out(self.events)
        said += f" (its time ran out {ran_out})" if ran_out else ""
        # 44 % from scratch on two classes went unremarked: below what a coin toss scores
        if self.classes and not self.running and acc <= 1 / self.classes + GUESSING:
            said += f", no better than guessing among {self.classes} classes ({1 / self.classes:.0%})"
        return said


def time_ran_out(evs: list[dict]) -> str:
    """Where a finished run's time limit stopped it, e.g. "in epoch 2 of 8"; "" if it did all its epochs.

    A run stops short of its epochs either at its time limit or by early stopping, which the comparison
    turns off (`experiment_configs`)."""
    planned = next((e.get("epochs") for e in evs if e.get("event") == events.STARTED), None)
    done = [e for e in evs if e.get("event") == events.EPOCH]
    finished = any(e.get("event") == events.FINISHED for e in evs)
    if not (finished and done and planned) or (len(done) == planned and not done[-1].get("partial")):
        return ""
    return f"{'in' if done[-1].get('partial') else 'after'} epoch {len(done)} of {planned}"


def _blocks_label(evs: list[dict], unfreeze_n: int | None) -> str:
    """"last 2 blocks", from the argument or else from the run's own started event."""
    if unfreeze_n is None:
        unfreeze_n = next((e.get("unfreeze") for e in evs if e.get("event") == events.STARTED), None)
    return what_trains(unfreeze_n, short=True)


def _pct(value: float) -> str:
    return f"{value:.0%}"
