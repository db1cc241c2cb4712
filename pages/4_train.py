"""Step 4: choose how much of the network to fine-tune and the training settings; start, watch, stop."""
import streamlit as st

import tl_core
from pages.common import charts, engine, frame, live_run, runview
from pages.common import project as projects
from pages.common.frame import esc

project = frame.start("train")


# ---------------------------------------------------------------- settings

def describe_choice(n: int, total_blocks: int, scratch: bool) -> str:
    if scratch:
        return ("**From scratch:** the network forgets what it learned before and starts from random numbers; "
                "every parameter trains. With a small dataset this usually does much worse than transfer "
                "learning, which is exactly what this comparison shows.")
    lead = tl_core.what_trains(n, blocks=total_blocks).capitalize()  # the words of the slider, run labels, model card
    if n == 0:
        return (f"**{lead} learns.** Everything the network already knows stays frozen. This is the "
                "fastest choice and the safest with little data (a few dozen examples per class).")
    if n >= total_blocks:
        return (f"**{lead} are fine-tuned.** The network adapts the most to your data, but it needs the most "
                "examples and time, and with little data it may *overfit*: memorise the training examples "
                "instead of learning what the classes have in common.")
    return (f"**{lead} {'adapts' if n == 1 else 'adapt'} to your data** as well as the new head. "
            "More layers let the model adapt more, but need more data and time, and may *overfit* (memorise "
            "the training examples) when you have few.")


def blocks_label(n: int, total: int) -> str:
    """'8: all blocks': the slider's position and, in the words runs and model cards use, what it trains."""
    return f"{n}: {tl_core.what_trains(n, blocks=total)}"


def settings(project: dict):
    """Draw the form; return a RunConfig ready to start, or None when something must be fixed first."""
    kind = project["kind"]
    path, text_col, label_col = projects.data_source(project)
    data = _data(project, path, text_col, label_col)
    if data is None:
        return None
    layout, message = engine.layout(project["model"], kind, len(data.classes))
    if message:
        frame.error(message)
        frame.link("model", "Go to step 2: Choose a model")
        return None
    projects.use_settings(project)
    choice = _what_learns(layout, data, kind)
    if choice is None:
        return None
    scratch, n = choice
    chosen = {**_training_settings(project, kind, own_split=any(e.split for e in data.examples)),
              **_advanced_settings()}
    projects.keep_settings(project)
    if not _ready(project, data, chosen):
        return None
    unfreeze = tl_core.ALL if n >= layout.num_blocks else n  # "all blocks", as the slider said
    return tl_core.RunConfig(data=str(path), model=project["model"], unfreeze=unfreeze, from_scratch=scratch,
                             text_column=text_col, label_column=label_col, label_names=projects.label_names(project),
                             extra={"project": project["id"], "kind": kind}, **chosen)


def _data(project: dict, path, text_col: str | None, label_col: str | None):
    """The project's examples as training reads them, or None (with what to do) when there are none to read."""
    if path is None:
        st.info("Add your data first: training needs examples for at least two classes.", icon=":material/info:")
        frame.link("data", "Go to step 3: Add your data")
        return None
    data, message = engine.dataset(path, text_col, label_col, projects.stamp(path), projects.label_names(project))
    if message:
        frame.error(message)
        frame.link("data", "Go to step 3: Add your data")
        return None
    return data


def _what_learns(layout, data, kind: str) -> tuple[bool, int] | None:
    """The from-scratch toggle and the blocks slider beside a drawing of the network: (from scratch, blocks)."""
    total_blocks = layout.num_blocks
    st.subheader("How much of the network should learn?")
    left, right = st.columns([3, 2], gap="large")
    with left:
        scratch = st.toggle("Train from scratch instead (for comparison)", key="from_scratch",
                            persist_state="session",
                            help="Start from random numbers instead of the pre-trained knowledge, to see what "
                                 "transfer learning brings.")
        if st.session_state.get("unfreeze", 0) > total_blocks:
            st.session_state["unfreeze"] = total_blocks
        n = st.select_slider("Layers to fine-tune", options=list(range(total_blocks + 1)), key="unfreeze",
                             format_func=lambda v: blocks_label(v, total_blocks), disabled=scratch,
                             persist_state="session",
                             help="0 trains only the new head. Each step to the right also fine-tunes one more "
                                  "block of the pre-trained network, starting from the top (the output side).")
        plan, message = engine.plan(layout, n, scratch)
        if message:
            frame.error(message)
            return None
        st.markdown(f"### {plan.describe().replace('(0%)', '(less than 1%)')}")
        st.markdown(describe_choice(n, total_blocks, scratch))
        smallest = min((sum(1 for e in data.examples if e.label == c) for c in data.classes), default=0)
        if (n > 0 or scratch) and smallest < 50:
            st.caption(f"Your smallest class has {tl_core.plural(smallest, 'example')}. With fewer than about 50 per "
                       "class, only the new head usually does best; try both and compare them on the All runs step.")
    with right:
        st.html(charts.network_html(list(layout.blocks), plan.first_trainable, layout.head, kind,
                                    len(data.classes), scratch))
    return scratch, n


def _training_settings(project: dict, kind: str, own_split: bool) -> dict:
    """Epochs, augmentation and the validation share, as RunConfig fields; the share is kept in the project."""
    st.subheader("Training settings")
    a, b, c = st.columns(3)
    with a:
        epochs = st.number_input("Epochs (0 = automatic)", min_value=0, max_value=1000, step=1, key="epochs",
                                 persist_state="session",
                                 help="How many times the model goes through all your training examples. "
                                      "Automatic picks a sensible number for the choice above.")
        st.caption("One epoch = one pass over all training examples. More epochs take longer.")
    with b:
        if kind == "image":
            augment = st.segmented_control(
                "Augmentation", tl_core.AUGMENTATIONS, key="augment", persist_state="session", required=True,
                format_func=str.capitalize,
                help="Shows the model slightly changed copies of your photos (mirrored, cropped, recoloured), "
                     "so it learns the object rather than the exact picture.")
            st.caption("Light: mirrored copies. Strong: also crops and colour changes; helps with few photos.")
        else:
            augment = "none"
            st.caption("Augmentation applies to pictures only.")
    with c:
        val_percent = st.slider("Validation share (%)", min_value=10, max_value=50, step=5, key="val_percent",
                                persist_state="session", disabled=own_split,
                                help="The share of examples kept aside to check the model on examples it has "
                                     "never seen.")
        if own_split:
            st.caption("Your data already has its own validation folder, so it is used instead.")
        else:
            st.caption("These examples are never trained on; they measure accuracy honestly.")
    if project.get("val_split") != val_percent / 100:
        project["val_split"] = val_percent / 100
        projects.save(project)
    return {"epochs": int(epochs), "augment": augment or "light", "val_split": val_percent / 100}


def _advanced_settings() -> dict:
    """Learning rate, batch size, early stop, seed and the run's name, as RunConfig fields."""
    with st.expander("Advanced settings"):
        x, y, z = st.columns(3)
        lr = x.selectbox("Learning rate", [0.0, 0.0001, 0.0003, 0.001, 0.003, 0.01], key="lr",
                         persist_state="session", format_func=lambda v: "automatic" if v == 0 else f"{v:g}",
                         help="How big each learning step is. Too high and training becomes unstable; too low "
                              "and it learns slowly. Automatic is a good start.")
        batch = y.selectbox("Batch size", [0, 8, 16, 32, 64, 128], key="batch", persist_state="session",
                            format_func=lambda v: "automatic" if v == 0 else str(v),
                            help="How many examples the model looks at before each update. Smaller uses less "
                                 "memory. Automatic: 32, or 16 when fine-tuning a text model.")
        early = z.number_input("Stop early after this many epochs without improvement (0 = never)", min_value=0,
                               max_value=100, key="early_stop", persist_state="session")
        seed = x.number_input("Random seed", min_value=0, max_value=2**31 - 1, key="seed", persist_state="session",
                              help="The same seed and settings give the same split and the same result.")
        name = y.text_input("Name this run (optional)", key="run_name", max_chars=80, persist_state="session",
                            placeholder="e.g. head only, 20 epochs")
    return {"lr": float(lr), "batch_size": int(batch), "early_stop": int(early), "seed": int(seed),
            "name": name.strip()}


def _ready(project: dict, data, chosen: dict) -> bool:
    """The same check training makes first: refuse here, with the reasons, instead of failing there."""
    report, message = engine.report(data, chosen["val_split"], chosen["seed"])
    problems = [message] if message else list(report.errors)
    if problems:
        for problem in problems:
            frame.error(problem)
        frame.link("data", "Fix it on step 3: Add your data")
        return False
    info = engine.model_info(project["model"], project["kind"])
    if not info.available:
        frame.warning(f"{info.title} {info.availability}; without internet this run will stop with an explanation.")
    return True


def start(config) -> None:
    run, message = engine.attempt("starting training", tl_core.start_run, config)
    if message:
        st.session_state["start_problem"] = message
        return
    st.session_state["run_id"] = run.id
    st.query_params["run"] = run.id


# ---------------------------------------------------------------- the page

if not project and not st.query_params.get("run"):
    st.info("Start a project first: choose what to sort, a model and your data.", icon=":material/info:")
    frame.link("welcome", "Go to step 1: Welcome")
    st.stop()

if project:
    config = settings(project)
    if config is not None:
        engine.prepare_ahead(config)
        st.button("Start training", type="primary", icon=":material/play_arrow:", key="start_training",
                  on_click=start, args=(config,))
        problem = st.session_state.pop("start_problem", None)
        if problem:
            frame.error(problem)

run_id = st.query_params.get("run")
current = engine.get_run(run_id)
if current is not None:
    st.header("Training")
    st.caption(f"{esc(runview.run_label(current))}. You can leave this page or reload it: training goes on, "
               "and this page reconnects.")
    live = current.active
    st.fragment(run_every=1.0 if live else None)(live_run.panel)(current.id, live)
elif run_id:
    frame.error(f"There is no run called {run_id}. Start a new one above.")
