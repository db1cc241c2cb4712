"""Step 8: why transfer learning works, shown on the person's own run.

Five views: a one-click comparison of three starting points (from scratch, pretrained head only,
pretrained last blocks), where the model looks (Grad-CAM heat maps, or weighted words for text),
how the network places the validation examples before and after training, how accuracy grows
with the number of examples, and what each layer learned (pages/common/layers.py). Each heavy view
waits for its button and is cached per run.
"""
import streamlit as st

import tl_core

from pages.common import charts, engine, frame, layers, runview, understand_cards
from pages.common import understand as u
from pages.common.comparison import arm_state, experiment_figure, head_note
from pages.common.frame import esc
from pages.common.understand_charts import feature_map_figure, learning_curve_figure
from pages.common.word_weights import words_html, words_key

project = frame.start("understand")
presenting = frame.presenting()
st.markdown("Five ways to look inside transfer learning, on your own data and model.")


def revealed(name: str, label: str, icon: str, help: str, compute):
    """A button that shows a view; once pressed, the view stays while the person looks at this run.

    Returns what `compute()` made for the view, or None while the button was never pressed or when it failed
    (its sentence is then shown). `compute` returns (value, message), like every call in pages/common/engine.py.
    """
    key = f"{name}_{run.id}"
    if st.button(label, key=f"show_{key}", icon=icon, help=help, type="secondary"):
        st.session_state[key] = True
    if not st.session_state.get(key):
        return None
    value, message = compute()
    if message:
        frame.error(message)
        return None
    return value


run = runview.pick_run("understand")
if run is None:
    st.info("No trained model yet. Train one first: this step then shows why transfer learning works on it.",
            icon=":material/info:")
    frame.link("train" if project else "welcome", "Go to step 4: Train" if project else "Go to step 1: Welcome")
    st.stop()

kind = run.kind
config = engine.run_config(run, trained=True)  # an automatic run: the model it chose
if config is None:
    frame.error("This run's settings cannot be read, so it cannot be explained. Pick another run.")
    st.stop()


def few_checked() -> str:
    """A warning when accuracy is measured on so few examples that one more right answer moves it a lot."""
    checked = int((run.metrics() or {}).get("examples") or 0)
    if not 0 < checked < 50:
        return ""
    return (f" Accuracy here is measured on only {checked} validation examples, so each one is worth "
            f"{100 / checked:.0f} points: small differences can be luck.")


# ---------------------------------------------------------------- (a) does transfer learning help here?

def find_experiment() -> str | None:
    """This run's own comparison, else the newest one on the same data and model (found again after a reload)."""
    own = (config.extra or {}).get("experiment")
    if own:
        return own
    for other in engine.runs_safe():  # newest first
        c = engine.run_config(other, trained=True)
        if c and (c.extra or {}).get("experiment") and c.data == config.data and c.model == config.model:
            return c.extra["experiment"]
    return None


def experiment_arms(experiment_id: str) -> dict:
    from tl_core.explain import experiment_runs

    found, _ = engine.attempt("reading the comparison", experiment_runs, experiment_id)
    return found or {}


def start_experiment() -> None:
    """The button's callback. The budget is read here, not bound when the button was drawn, so a number
    changed just before the click counts."""
    import dataclasses

    from tl_core.explain import start_experiment as engine_start

    epochs = u.EXPERIMENT_EPOCHS if presenting else int(st.session_state.get("experiment_epochs")
                                                         or u.EXPERIMENT_EPOCHS)

    base = dataclasses.replace(config, epochs=epochs, early_stop=0, name="Comparison",
                               extra={k: v for k, v in (config.extra or {}).items() if k not in ("experiment", "arm")})
    arms, message = engine.attempt("starting the comparison", engine_start, base, u.EXPERIMENT_BLOCKS)
    if message:
        st.session_state["experiment_problem"] = message


def experiment_panel(experiment_id: str, was_live: bool) -> None:
    from tl_core.explain import ARMS, arm_title, takeaway

    found = experiment_arms(experiment_id)
    if not found:
        frame.error("The runs of this comparison can no longer be read.")
        return
    arms, events, states, live = {}, {}, [], False
    budget = max(r.config.epochs for r in found.values())
    seconds = max(r.config.time_limit_s for r in found.values())
    blocks = found["blocks"].config.unfreeze if "blocks" in found else u.EXPERIMENT_BLOCKS
    for arm in ARMS:
        if arm not in found:
            continue
        status, evs = found[arm].status() or {}, found[arm].events()
        live = live or status.get("state") in ("queued", "running")
        title = arm_title(arm, blocks)
        arms[arm], events[arm] = (title, evs), evs
        states.append(f"**{title}:** {esc(arm_state(status, evs, budget, seconds))}")
    st.markdown(" · ".join(states))
    st.plotly_chart(experiment_figure(arms, budget, presenting, seconds), key=f"experiment_{experiment_id}",
                    config=charts.CONFIG)
    st.markdown(f"**{esc(takeaway(events, blocks))}**")
    st.caption(u.how_to_read("experiment") + head_note(events.get("head", [])) + few_checked())
    if live:
        if st.button("Stop the comparison", icon=":material/stop:", key=f"stop_experiment_{experiment_id}"):
            for r in found.values():
                r.request_stop()
    if was_live and not live:
        st.rerun()  # the whole page again, without the timer


with st.container(key="understand_experiment"):
    st.header("Does transfer learning help here?", divider="gray")
    from tl_core.explain import EXPERIMENT_SECONDS, what_is_equal

    st.markdown(f"One click trains three models on this run's data, one after another: **pretrained, only a new "
                f"head**, then **pretrained, the last {u.EXPERIMENT_BLOCKS} blocks fine-tuned too**, then **from "
                "scratch** (random numbers, nothing learned before). The first results come within seconds; the "
                f"whole comparison takes at most about {tl_core.duration(3 * EXPERIMENT_SECONDS)} (each run stops "
                "at the budget below), and you can leave the page meanwhile.")

    st.caption(what_is_equal(int(st.session_state.get("experiment_epochs") or u.EXPERIMENT_EPOCHS),
                             EXPERIMENT_SECONDS))
    experiment_id = find_experiment()
    experiment = experiment_arms(experiment_id) if experiment_id else {}
    running = any(r.state in ("queued", "running") for r in experiment.values())
    with st.container(horizontal=True, vertical_alignment="bottom"):
        if not presenting:  # an advanced control: presenter mode keeps the default
            st.number_input("Epochs for each of the three", min_value=1, max_value=30, value=u.EXPERIMENT_EPOCHS,
                            key="experiment_epochs", width=220,
                            help="The same budget for all three, together with a time limit for each. The "
                                 "pretrained ones finish their epochs in seconds; from scratch usually runs out "
                                 "of time first.")
        st.button("Compare the three starting points" if not experiment else "Run the comparison again",
                  type="primary", icon=":material/compare_arrows:", key="start_experiment", disabled=running,
                  on_click=start_experiment,
                  help="Wait for the comparison that is running to finish." if running else None)
    problem = st.session_state.pop("experiment_problem", None)
    if problem:
        frame.error(problem)
    if experiment_id:
        st.fragment(run_every=2.0 if running else None)(experiment_panel)(experiment_id, running)


# ---------------------------------------------------------------- (b) where the model looks

def own_sentence() -> None:
    """A sentence the person types, weighed word by word."""
    with st.form("understand_words", border=False):
        own = st.text_input("Or type your own sentence", key="understand_text", max_chars=500,
                            placeholder="A sentence like the ones in your data")
        st.form_submit_button("Weigh the words", icon=":material/send:")
    if not own.strip():
        return
    result, message = u.words(run, own.strip())
    if message:
        frame.error(message)
        return
    st.markdown(f"The model says **{esc(result['predicted'])}** ({result['confidence']:.0%} sure). "
                "The words that counted for it:")
    st.html(words_html(result["text"], result["words"]))
    st.html(words_key())


# Per kind: what the section says, its button (name, label, help), the gallery and how its cards are drawn.
LOOKS = {
    "image": ("For a few validation pictures (never trained on), a **heat map** shows which parts of the picture "
              "made the model choose its answer (a method called Grad-CAM).",
              ("cams", "Show where the model looks",
               "Draws heat maps for a few validation pictures: some the model got wrong, some it got right."),
              u.image_gallery, understand_cards.picture_cards),
    "text": ("For a few validation sentences (never trained on), each word is shaded by **how much it counted** "
             "for the model's answer.",
             ("words", "Show which words count",
              "Weighs every word of a few validation sentences; the ones the model got wrong come first."),
             u.word_gallery, understand_cards.sentence_cards),
}

with st.container(key="understand_looks"):
    st.header("Where the model looks", divider="gray")
    intro, (name, label, help_text), gallery, draw = LOOKS[kind]
    st.markdown(intro)
    cards = revealed(name, label, ":material/visibility:", help_text, lambda: gallery(run))
    if cards is not None:
        draw(cards)
    if kind == "text":
        own_sentence()


# ---------------------------------------------------------------- (c) do the features already know?

with st.container(key="understand_features"):
    st.header("Do the features already know?", divider="gray")
    thing = "picture" if kind == "image" else "sentence"
    st.markdown(f"Every validation {thing} becomes a dot, placed by how the network sees it before training on "
                "your data (and after, when training changed the network). Point at a dot to see which one it is.")
    maps = revealed("features", "Draw the feature maps", ":material/scatter_plot:",
                    "Passes every validation example through the network before and after training (a few seconds).",
                    lambda: u.feature_maps(run))
    if maps is not None:
        st.subheader(maps["before"]["headline"])
        st.plotly_chart(feature_map_figure(maps, presenting), key=f"feature_map_{run.id}",
                        config=charts.CONFIG)
        if maps["after"]:
            st.markdown(f"**Before training:** {esc(maps['before']['summary'])}  \n"
                        f"**After training:** {esc(u.after_words(maps))}")
            st.caption(u.how_to_read("feature_map", "feature_map_before_after"))
        else:
            st.markdown(f"**Before training:** {esc(maps['before']['summary'])}")
            st.info("There is no \"after\" map for this run: only the new head learned, the network itself "
                    "stayed frozen, so its features did not change and the map would be the same picture. "
                    "Runs that fine-tune blocks (or train from scratch) change the features and get a second map.",
                    icon=":material/lightbulb:")
            st.caption(u.how_to_read("feature_map"))


# ---------------------------------------------------------------- (d) how much data do I need?

with st.container(key="understand_curve"):
    st.header("How much data do I need?", divider="gray")
    st.markdown("A new head is trained on only part of your training examples (a tenth, a quarter, a half, all), "
                "three times each with a different random draw, and always checked on the same validation examples.")
    points = revealed("curve", "Draw the learning curve", ":material/show_chart:",
                      "Twelve quick trainings of a new head on the pretrained network (seconds for small data).",
                      lambda: u.learning_curve(run))
    if points is not None:
        from tl_core.explain import curve_summary

        accuracy = (run.metrics() or {}).get("accuracy")
        st.plotly_chart(learning_curve_figure(points, accuracy, presenting), key=f"learning_curve_{run.id}",
                        config=charts.CONFIG)
        said = curve_summary(points, accuracy, config)
        if said:
            st.markdown(esc(said))
        st.caption(u.how_to_read("learning_curve") + few_checked())


# ---------------------------------------------------------------- (e) what each layer learned

with st.container(key="understand_layers"):
    layers.understand_section(run, presenting, revealed)
