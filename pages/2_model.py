"""Step 2: the pre-trained network to start from: the automatic choice first (the default), then the catalogue's cards.

With the choice left to TransferLab and data added, the models are ranked as soon as the page opens: the person
asked for the model that fits their data, so they expect to see it picked without another click; the ranking
runs in its own process, takes seconds, and is kept per version of the data, so opening the page again costs
nothing. A project with a model of its own ranks on request ("Rank the models for my data"): it would otherwise
spend the CPU on an answer nobody asked for, while the data may still be changing.
"""
import streamlit as st

import tl_core
from pages.common import engine, frame, ranking
from pages.common import project as projects

project = frame.start("model")

if not project:
    st.info("First tell TransferLab what you want to sort.", icon=":material/info:")
    a, b = st.columns(2)
    if a.button("Start a picture project", key="empty_image", width="stretch"):
        projects.new("image")
        st.rerun()
    if b.button("Start a text project", key="empty_text", width="stretch"):
        projects.new("text")
        st.rerun()
    st.stop()

kind = project["kind"]
things = tl_core.things(kind)
st.write("Each model below has already learned from a large collection of "
         + ("photos" if kind == "image" else "texts")
         + ". TransferLab keeps that knowledge and teaches it your classes. "
           "Leave the choice to TransferLab, or pick a model yourself.")


def automatic_card(found, problem: str | None) -> None:
    """The first card: TransferLab picks the model from a quick look at the person's data, shown as a ranking."""
    with st.container(border=True, key="card_auto"):
        st.markdown("#### Automatic (recommended)")
        st.write(f"TransferLab picks the model that fits your data best from a quick look at it: before any "
                 f"training, it measures how well {_each_model()} tells your {things} apart, and proposes how many "
                 f"of its layers to fine-tune.")
        if ranking.auto(project):
            st.button("Selected", icon=":material/check_circle:", disabled=True, key="pick_auto", width="stretch")
        elif st.button("Use the automatic choice", key="pick_auto", width="stretch"):
            project["model"] = tl_core.AUTO_MODEL
            projects.save(project)
            st.rerun()
        which_fits(found, problem)


def _offline() -> list:
    return [m for m in tl_core.catalog(kind) if m.available]


def _each_model() -> str:
    """'each model available offline', or the one model there is: a text project was promised a ranking of one."""
    offline = _offline()
    return "each model available offline" if len(offline) != 1 else \
        f"the one model available offline, {offline[0].title},"


def which_fits(found, problem: str | None) -> None:
    """The ranking (`found`): started by itself for an automatic project, by a click for one with its own model."""
    if ranking.config(project) is None:
        offline = _offline()
        what = (f"the ranking of the models for your {things}" if len(offline) != 1 else
                f"how well {offline[0].title} tells your {things} apart")
        st.info(f"Once you have added your data (step 3), {what} appears here.", icon=":material/info:")
        return
    if problem:
        frame.error(problem)
    elif found is None and st.button("Rank the models for my data", icon=":material/leaderboard:",
                                     key="rank_models",
                                     help="Takes a few seconds per model; training nothing."):
        message = ranking.start(ranking.config(project))
        if message:
            frame.error(message)
        else:
            st.rerun()
    ranking.follow(project, found, lambda now: ranking.panel(project, now))


SPEED = {"fastest": "very quick to train", "fast": "quick to train", "medium": "takes a while to train",
         "slow": "slow to train without a graphics card"}


def parameters(info) -> str:
    """The count the Train step shows (the network your new head sits on), and the published one when it differs."""
    kept = f"{info.kept_params_m:.1f} million parameters"
    if round(info.kept_params_m, 1) == round(info.params_m, 1):
        return kept
    return f"{kept} ({info.params_m:.1f} million with ImageNet's 1,000-class output layer, which your classes replace)"


found, problem = ranking.current(project, start_if_missing=ranking.auto(project))  # see the docstring
automatic_card(found, problem)
best = ranking.chosen_model(found)
st.subheader("Or pick a model yourself")
models = tl_core.catalog(kind)
columns = st.columns(3)
for index, info in enumerate(models):
    chosen = info.name == project["model"]
    with columns[index % 3], st.container(border=True, key=f"card_{info.name}"):
        heading = f"#### {info.title}"
        st.markdown(heading)
        badges = st.container(horizontal=True, gap="small")
        with badges:
            if info.name == best:
                st.badge("Chosen for your data", icon=":material/star:", color="violet")
            if info.available:
                st.badge("available offline", icon=":material/check:", color="green")
            else:
                st.badge(info.availability, icon=":material/cloud_download:", color="gray")
        st.write(info.summary)
        st.markdown(f"**Learned from:** {info.learned_from}  \n"
                    f"**Size:** {info.size_mb} MB · {parameters(info)}  \n"
                    f"**Speed on a laptop:** {SPEED.get(info.speed, info.speed)}")
        if chosen:
            st.button("Selected", icon=":material/check_circle:", disabled=True, key=f"pick_{info.name}",
                      width="stretch")
        elif st.button("Use this model", key=f"pick_{info.name}", width="stretch"):
            project["model"] = info.name
            projects.save(project)
            st.rerun()

chosen = engine.model_info(project["model"], kind)
if not ranking.auto(project) and not chosen.available:
    st.warning(f"{chosen.title} is not on this computer yet: training it {chosen.availability} and an "
               "internet connection. Without one, training stops with an explanation; the models marked "
               "'available offline' and the automatic choice always work.", icon=":material/cloud_off:")
frame.next_button("data", "Next: add your data")
