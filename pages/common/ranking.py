"""Which model fits a project's data: the ranking the Model step draws and the Train step's automatic choices read.

The ranking runs in its own process (`tl_core.start_ranking`) and leaves its result in the workspace, keyed by the
data's version; pages only read it (`tl_core.ranking_status`), so no page imports torch, a refresh finds the
ranking again, and ranking the same data a second time costs nothing.
"""
from __future__ import annotations

import streamlit as st

import tl_core

from . import charts, engine, frame
from . import project as projects
from .frame import esc

# The relatedness sentence's own words (`ranking_status(...).recommended.relatedness`), as a meter's fill.
LEVELS = (("a lot like", 1.0, "close"), ("somewhat like", 0.6, "in between"), ("quite unlike", 0.2, "far"))


def auto(project: dict) -> bool:
    """Whether the project lets TransferLab choose the model."""
    return project.get("model") == tl_core.AUTO_MODEL


def config(project: dict):
    """The RunConfig a ranking of the project's data is asked with; None while the project has no data."""
    path, text_column, label_column = projects.data_source(project)
    if path is None:
        return None
    return tl_core.RunConfig(data=str(path), model=tl_core.AUTO_MODEL, unfreeze=tl_core.AUTO,
                             text_column=text_column, label_column=label_column,
                             label_names=projects.label_names(project))


def stamp(project: dict) -> tuple:
    """The project's data stamp (`projects.stamp`): the engine names the data's version once per stamp."""
    return projects.stamp(projects.data_source(project)[0])


def status(ranking_config, data_stamp: tuple | None = None):
    """The ranking of this data as it stands (None when none was started), or None with a sentence."""
    return engine.attempt("reading the model ranking", tl_core.ranking_status, ranking_config, stamp=data_stamp)


def start(ranking_config, retry: bool = False, data_stamp: tuple | None = None) -> str | None:
    """Start ranking this data in the background (once per data version, or again after a failure with `retry`);
    a sentence when it cannot start."""
    _, message = engine.attempt("starting the model ranking", tl_core.start_ranking, ranking_config, retry=retry,
                                stamp=data_stamp)
    return message


def current(project: dict, start_if_missing: bool, data_stamp: tuple | None = None):
    """(ranking or None, problem or None) for the project's data, started here when asked and none exists (or a
    training run's lacks the relatedness, `Ranking.whole`).
    `data_stamp`: the data's stamp when the caller has it (a fragment re-reading every second), else taken here."""
    wanted = config(project)
    if wanted is None:
        return None, None
    data_stamp = stamp(project) if data_stamp is None else data_stamp
    ranking, message = status(wanted, data_stamp)
    if (ranking is None or ranking.state == "done" and not ranking.whole) and message is None and start_if_missing:
        message = start(wanted, data_stamp=data_stamp)
        if message is None:
            ranking, message = status(wanted, data_stamp)
    return ranking, message


def running(ranking) -> bool:
    return ranking is not None and ranking.state == "running"


def follow(project: dict, found, draw) -> None:
    """Draw `draw(ranking)` as a fragment that re-reads the ranking every second while it runs (`found`: as it was
    when the page started); the whole page is drawn again once it ends, without the timer (as the live run panel
    does)."""
    live = running(found)
    st.fragment(run_every=1.0 if live else None)(_follow)(project, draw, live, stamp(project))


def _follow(project: dict, draw, was_running: bool, data_stamp: tuple) -> None:
    """One redraw: the stamp taken when the page ran, so a second's re-read costs no walk over the data."""
    ranking, message = current(project, start_if_missing=False, data_stamp=data_stamp)
    if message:
        frame.error(message)
        return
    draw(ranking)
    if was_running and not running(ranking):
        st.rerun()


def panel(project: dict, ranking) -> None:
    """The models ranked for the project's data, best on top, with what the recommendation says and why."""
    if ranking is None:
        return
    if ranking.state == "failed":
        frame.warning(ranking.message)
        if st.button("Rank again", icon=":material/refresh:", key="rank_again"):
            message = start(config(project), retry=True)
            if message:
                frame.error(message)
            else:
                st.rerun()
        return
    available = [m for m in tl_core.catalog(project["kind"]) if m.available]
    if ranking.state == "running":
        # every model scored: what is left is the chosen one's per-block scores and relatedness ("3 of 3 scored so
        # far" read as stuck)
        scored, total = len(ranking.scores), len(available)
        doing = (f"{scored} of {total} scored so far" if scored < total else
                 "the model scored, now measuring how close your data is to it" if total == 1 else
                 f"all {total} models scored, now measuring how close your data is to the best one")
        st.info(f"Comparing the models on a sample of your data: {doing}. It runs in the background: you can carry "
                "on meanwhile.", icon=":material/hourglass_top:")
    recommended = ranking.recommended
    if ranking.scores and len(available) > 1:  # one model ranks nothing: its reason says it is the one available
        st.plotly_chart(charts.ranking([(s.title, s.score, s.seconds) for s in ranking.scores],
                                       _title(recommended.model) if recommended else None),
                        key="model_ranking", config=charts.CONFIG)
        st.caption(what_the_score_is(ranking, project["kind"]))
    if recommended is None:
        return
    if recommended.relatedness:  # a training run's record leaves it out until the app measures it (`current`)
        meter(recommended.relatedness, _title(recommended.model))
    st.markdown(f"**Why:** {esc(recommended.why_model)} How many of its layers to fine-tune is proposed on step 4, "
                "beside the network.")


def what_the_score_is(ranking, kind: str) -> str:
    """The chart's caption: what LogME measures, and on how many of the person's examples."""
    if not ranking.of:
        on = "a sample of your data"
    elif ranking.scored < ranking.of:
        on = f"{ranking.scored} of your {ranking.of} {tl_core.things(kind)} (every class keeping its share)"
    else:
        on = f"all {ranking.of} of your {tl_core.things(kind)}"
    return (f"The score is LogME: how well a simple classifier on each model's features would separate your "
            f"classes, measured on {on} before any training. Higher is better; compare scores only on the same "
            f"data.")


def meter(sentence: str, title: str) -> None:
    """How related the data is to what the model (`title`) learned, as a bar filled as far as its sentence says."""
    fill = next(((share, words) for said, share, words in LEVELS if said in sentence), None)
    if fill is None:
        st.markdown(esc(sentence))
        return
    st.progress(fill[0], text=f"**How close your data is to what {title} learned: {fill[1]}.** {esc(sentence)}")


def proposal(ranking, model: str, data) -> tuple[int, str] | None:
    """(blocks to fine-tune, why) that training will choose for `model` (AUTO_MODEL: the model TransferLab chose),
    as the engine words it (`tl_core.blocks_proposal`); None while unknown."""
    return tl_core.blocks_proposal(ranking, model, tl_core.smallest_class(data))


def proposal_words(proposed: tuple[int, str] | None, blocks: int) -> str:
    """The proposal as the Train step says it beside the drawing."""
    if proposed is None:
        return ("**TransferLab decides when training starts**, from how well each block's features tell your "
                "classes apart. Until then the drawing shows only the new head learning.")
    n, why = proposed
    return f"**TransferLab proposes: {tl_core.what_trains(n, blocks=blocks)}** — {esc(why)}"


def waiting(found) -> None:
    """The Train step while the automatic model is being chosen: what is happening, and that Start need not wait."""
    if found is not None and found.state == "failed":
        frame.warning(found.message)
        frame.link("model", "Choose a model yourself on step 2")
        return
    scored = len(found.scores) if found is not None else 0
    st.info(f"TransferLab is choosing the model that fits your data best ({tl_core.plural(scored, 'model')} compared "
            "so far). The network it picks, and how many of its layers to fine-tune, show here in a few seconds. "
            "You can also start training now: TransferLab then makes the same choice when training starts.",
            icon=":material/hourglass_top:")


def chosen_model(ranking) -> str | None:
    """The model training with the automatic choice will use, once the ranking is done."""
    if ranking is None or ranking.state != "done" or ranking.recommended is None:
        return None
    return ranking.recommended.model


def training_model(project: dict, found, scratch: bool, kind: str) -> tuple[str | None, str]:
    """(the model training will use, why in the engine's words; "" for the person's own model): an automatic
    project's is the ranking's choice (None until it is done), or from scratch the engine's (`tl_core.scratch_model`),
    which no pretrained score chooses."""
    if not auto(project):
        return project["model"], ""
    if scratch:
        return tl_core.scratch_model(kind)
    model = chosen_model(found)
    return model, found.recommended.why_model if model else ""


def _title(model: str) -> str:
    info = tl_core.find_model(model)
    return info.title if info else model
