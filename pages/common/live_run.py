"""The Train step's live view of one run: waiting, getting ready, progress and curves, Stop, how it ended.

Drawn as a fragment that refreshes every second while the run is live; everything it shows is read from
the run folder (`tl_core.Run`), so leaving the page or reloading it loses nothing.
"""
from __future__ import annotations

import time

import streamlit as st

import tl_core

from . import charts, engine, frame, runview
from .frame import esc


LEAVE_IT = "You can leave this page or reload it: training goes on, and this page reconnects."  # only while live


def panel(run_id: str, was_live: bool) -> None:
    """The run as it is now. `was_live`: the page draws this as a fragment refreshing every second, so when the
    run ends the whole page is drawn again, without the timer."""
    run = engine.get_run(run_id)
    if run is None:
        frame.error(f"There is no run called {run_id}. Start a new one above.")
        return
    status, message = engine.attempt("reading the run's status", run.status)
    if message:
        frame.error(message)
        return
    run.enforce_stop()  # stage two of Stop: a worker still going after the grace period is killed
    events = run.events()
    state = status.get("state", "queued")
    live = state in ("queued", "running")
    # Redrawn with the rest: drawn once above the panel, it still read "automatic (chosen when training starts) ·
    # waiting" at 25 %, under the choice made and beside the bar.
    st.caption(f"{esc(runview.run_label(run))}." + (f" {LEAVE_IT}" if live else ""))
    started = next((e for e in events if e["event"] == "started"), None)
    _before_training(run, status, events, started)
    if started:
        _training_on(started, status)
        chosen = runview.chosen_for_you(engine.run_config(run), runview.chosen(run))
        if chosen:
            st.markdown(chosen)
    continued = runview.continues(engine.run_config(run))
    if continued:
        st.caption(f"This run {esc(continued)}: it starts from that run's best model, with its settings.")
    _progress(run_id, events, started, state, live, runview.earlier_epochs(run))
    if live:
        _stop_button(run)
    else:
        _ending(run, state, status, events)
        if state in ("finished", "cancelled", "interrupted") and run.has_model():
            keep_training(run, events)
    if was_live and not live:
        st.rerun()  # the whole page again, without the timer


def _before_training(run, status: dict, events: list[dict], started: dict | None) -> None:
    """Waiting for the device, or getting ready: reading the data and passing it through the frozen layers."""
    state = status.get("state", "queued")
    if state == "queued":
        ahead = status.get("position") or run.queue_position()
        if ahead:
            st.info(f"Waiting for its turn: {ahead} {'run is' if ahead == 1 else 'runs are'} ahead of this one "
                    "(one run trains at a time).", icon=":material/hourglass_top:")
        else:
            st.info("Starting the training process…", icon=":material/hourglass_top:")
    elif state == "running" and not started:
        since = time.time() - (status.get("started") or time.time())
        st.info(f"Getting ready ({tl_core.duration(since)} so far): reading your data, loading the pre-trained model "
                "and passing your examples through the frozen layers. This can take a minute; the curves "
                "start when training does.", icon=":material/hourglass_top:")
        preparing = [e for e in events if e["event"] == "preparing"]
        last = preparing[-1] if preparing else {}
        if last.get("total"):
            st.progress(min(1.0, last["done"] / last["total"]),
                        text=f"{esc(last['text'])}: {last['done']:,} of {last['total']:,} {last.get('unit', '')}")
        elif last:
            st.caption(f"{esc(last['text'])}…")


def _training_on(started: dict, status: dict) -> None:
    device = str(started.get("device") or status.get("device") or "?")
    views = started.get("views_per_example", 1)
    copies = f" (seen {tl_core.seen_ways(views)})" if views > 1 else ""
    st.markdown(f"**Training on:** {esc(device.split(',')[0])} · {started['trainable_params']:,} of "
                f"{tl_core.plural(started['total_params'], 'parameter')} learn · "
                f"{tl_core.plural(started['train_examples'], 'example')} for training{copies}, "
                f"{started['val_examples']:,} for checking · {tl_core.plural(started['epochs'], 'epoch')}")


def _progress(run_id: str, events: list[dict], started: dict | None, state: str, live: bool,
              earlier: list[dict]) -> None:
    """The progress bar, the notes training left, and the curves so far (after `earlier`, a continuation's)."""
    progress = [e for e in events if e["event"] == "progress"]
    epochs_done = [e for e in events if e["event"] == "epoch"]
    if live and progress:
        last = progress[-1]
        share = min(1.0, last["step"] / max(1, last["steps"]))
        last_epoch = started["epochs"] + started.get("first_epoch", 1) - 1 if started else "?"  # numbered on
        # Between an epoch's end (checking on the validation examples included) and the next one's first step, the
        # last step still names the finished epoch: it read "epoch 1 of 2" at 50 %, as if epoch 1 had just begun.
        ended = " finished" if last["epoch"] in {e["epoch"] for e in epochs_done} else ""
        st.progress(share, text=f"{share:.0%} · epoch {last['epoch']} of {last_epoch}{ended} · "
                                f"{_time_left(last['eta_s'])} · "
                                f"{tl_core.plural(round(last['samples_per_s']), 'example')} per second")
    elif state == "finished":
        st.progress(1.0, text="100% · done")
    for note in (e for e in events if e["event"] == "note"):
        st.info(esc(note.get("text", "")), icon=":material/info:")
    if started and (live or progress or epochs_done):  # getting ready, the axes would have nothing to scale to
        st.caption(f"Epochs finished: {len(epochs_done)} of {started['epochs']}")
        st.plotly_chart(charts.curves(events, run_id, earlier), key=f"curves_{run_id}", config=charts.CONFIG)
        if charts.curves_note(events):
            st.caption(charts.curves_note(events))


def _stop_button(run) -> None:
    if run.stop_requested():
        st.warning("Stopping… the best model so far is being saved.", icon=":material/stop_circle:")
    else:
        st.button("Stop training", icon=":material/stop:", key=f"stop_{run.id}", on_click=run.request_stop,
                  help="Stops after the current step and keeps the best model so far.")


def _ending(run, state: str, status: dict, events: list[dict]) -> None:
    """How the run ended, and where to go from there."""
    if state == "finished":
        ending = next((e for e in reversed(events) if e["event"] == "finished"), {})
        accuracy = ending.get("best_val_accuracy") or status.get("best_val_accuracy") or 0
        st.success(f"Training finished in {_took(ending, status)}. Best validation accuracy: "
                   f"{accuracy:.0%} ({tl_core.kept_epoch(ending.get('best_epoch') or 0)}). "
                   f"{tl_core.why_it_ended(events)}".rstrip(), icon=":material/check_circle:")
        runview.how_sure(accuracy, run.metrics() or {})
        results_buttons(run.id)
    elif state == "cancelled":
        if run.has_model():
            st.info("Training was stopped. The best model so far was kept, so you can still look at its results.",
                    icon=":material/stop_circle:")
            results_buttons(run.id)
        else:
            st.info("Training was stopped before the first epoch finished, so there is no model to keep.",
                    icon=":material/stop_circle:")
    elif state == "failed":
        reason = status.get("message") or next((e.get("reason") for e in reversed(events) if e["event"] == "failed"),
                                               "Training failed.")
        frame.error(f"Training failed: {reason}")
    elif state == "interrupted":
        if run.stop_requested():
            st.info("Training was stopped.", icon=":material/stop_circle:")
        else:
            frame.error(status.get("message") or "Training was interrupted. Start it again.")


MORE_EPOCHS = 5  # what "Train N more epochs" offers first


def keep_training(run, events: list[dict]) -> None:
    """"Train N more epochs" for a curve still rising: a new run from this run's best model and settings
    (`tl_core.continue_run`), shown here once started."""
    with st.container(horizontal=True, vertical_alignment="bottom"):
        more = int(st.number_input("More epochs", min_value=1, max_value=1000, value=MORE_EPOCHS, step=1,
                                   key=f"more_epochs_{run.id}",
                                   help="Still improving? A new run starts from this run's best model, with its "
                                        "settings and its validation examples, and its curve carries on from here."))
        clicked = st.button(f"Train {tl_core.plural(more, 'more epoch')}", icon=":material/replay:",
                            key=f"continue_{run.id}")
    best = (run.metrics() or {}).get("best_epoch")
    last = max((e["epoch"] for e in tl_core.scored_epochs_in(events)), default=None)
    if best is not None and last is not None and best < last:  # the new run starts from the best, not the last
        later = f"epoch {last}" if last == best + 1 else f"epochs {best + 1} to {last}"
        st.caption(f"It carries on from epoch {best}, this run's best: {later}, which scored no better, "
                   f"{'is' if last == best + 1 else 'are'} left behind.")
    if clicked:
        config, message = engine.attempt("continuing the run", tl_core.continue_run, run.id, more)
        if config is not None:
            new, message = engine.attempt("starting training", tl_core.start_run, config)
        if message:
            frame.error(message)
            return
        frame.go("train", run=new.id)


def _took(ending: dict, status: dict) -> str:
    """How long the person waited, from Start to the end, and how much of it trained when the rest (starting a
    worker, reading the data, a queue) was seconds: 'Training finished in under a second' read oddly after 6 s."""
    trained = ending.get("elapsed_s", 0)
    waited = ending.get("time", 0) - status.get("created", ending.get("time", 0))
    if waited - trained < AWAY_FROM_TRAINING_S:
        return tl_core.duration(trained)
    return f"{tl_core.duration(waited)} ({tl_core.duration(trained)} of it training)"


AWAY_FROM_TRAINING_S = 2


def results_buttons(run_id: str) -> None:
    with st.container(horizontal=True):
        if st.button("See the results", type="primary", icon=":material/insights:", key=f"to_results_{run_id}"):
            frame.go("results", run=run_id)
        if st.button("Try the model", icon=":material/science:", key=f"to_try_{run_id}"):
            frame.go("try", run=run_id)


def _time_left(seconds: float) -> str:
    return "almost done" if seconds < 1 else f"about {tl_core.duration(seconds)} left"
