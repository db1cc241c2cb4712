"""Step 4: choose how much of the network to fine-tune and the training settings; start, watch, stop."""
import streamlit as st

import tl_core
from pages.common import charts, engine, frame, layers, live_run, ranking
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
    projects.use_settings(project)
    found, _ = ranking.current(project, start_if_missing=ranking.auto(project))
    scratch = bool(st.session_state.get("from_scratch"))  # the toggle under "How much of the network should learn?"
    model, why_model = ranking.training_model(project, found, scratch, kind)
    if model is None:  # automatic, and the ranking has not chosen yet: training makes the choice at Start
        ranking.follow(project, found, ranking.waiting)
        scratch, n, layout = False, tl_core.AUTO, None
    else:
        layout, message = engine.layout(model, kind, len(data.classes))
        if message:
            frame.error(message)
            frame.link("model", "Go to step 2: Choose a model")
            return None
        if why_model:  # the model training will use, and why, in the engine's words, as the run will say; they name
            # it ("**Model: EfficientNet-Lite0** — EfficientNet-Lite0 fits your data best ..." said it twice)
            st.markdown(f"**Model:** {esc(why_model)}")
        choice = _what_learns(layout, data, kind, ranking.proposal(found, project["model"], data))
        if choice is None:
            return None
        scratch, n = choice
    chosen = {**_training_settings(project, kind, own_split=any(e.split for e in data.examples)),
              **_advanced_settings()}
    projects.keep_settings(project)
    if not _ready(project, data, chosen):
        return None
    unfreeze = tl_core.ALL if layout and n >= layout.num_blocks else n  # "all blocks", as the slider said
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


def _what_learns(layout, data, kind: str, proposed: tuple[int, str] | None) -> tuple[bool, int] | None:
    """The from-scratch toggle and the blocks choice beside a drawing of the network: (from scratch, blocks), blocks
    being tl_core.AUTO when TransferLab chooses (`proposed`: its (blocks, why) once the ranking has them)."""
    total_blocks = layout.num_blocks
    st.subheader("How much of the network should learn?")
    left, right = st.columns([3, 2], gap="large")
    with left:
        scratch = st.toggle("Train from scratch instead (for comparison)", key="from_scratch",
                            persist_state="session",
                            help="Start from random numbers instead of the pre-trained knowledge, to see what "
                                 "transfer learning brings.")
        auto, n = _blocks_choice(total_blocks, scratch, proposed)
        plan, message = engine.plan(layout, n, scratch)
        if message:
            frame.error(message)
            return None
        st.markdown(f"### {plan.describe().replace('(0%)', '(less than 1%)')}")
        if auto and not scratch:
            st.markdown(ranking.proposal_words(proposed, total_blocks))
        st.markdown(describe_choice(n, total_blocks, scratch))
        few = tl_core.few_examples(tl_core.smallest_class(data))  # training's own advice, in its words
        if (n > 0 or scratch) and not auto and few:
            st.caption(f"{esc(few)} Try both and compare them on the All runs step.")
    with right:
        names = tl_core.plain_names([title for title, _ in layout.blocks], kind)
        st.html(charts.network_html([(name, count) for name, (_, count) in zip(names, layout.blocks)],
                                    plan.first_trainable, layout.head, kind, len(data.classes), scratch))
        layers.train_panel(project, names, kind, tl_core.smallest_class(data),
                           engine.get_run(st.query_params.get("run")))
    return scratch, tl_core.AUTO if auto and not scratch else n


BLOCKS = {"auto": "Automatic (recommended)", "mine": "I choose"}
def _blocks_choice(total_blocks: int, scratch: bool, proposed: tuple[int, str] | None) -> tuple[bool, int]:
    """Automatic or the person's own slider: (automatic, the blocks to draw: the proposal, or head only before it)."""
    auto = st.segmented_control(
        "Who chooses the layers to fine-tune?", list(BLOCKS), key="blocks", format_func=BLOCKS.get, required=True,
        disabled=scratch, persist_state="session", on_change=_start_slider_at, args=(proposed, total_blocks),
        help="Automatic: TransferLab measures how well each block's features tell your classes apart and fine-tunes "
             "the blocks that need to adapt. I choose: set it yourself with a slider.") == "auto"
    if auto:
        return True, _blocks(proposed[0], total_blocks) if proposed else 0
    if st.session_state.get("unfreeze", 0) > total_blocks:
        st.session_state["unfreeze"] = total_blocks
    n = st.select_slider("Layers to fine-tune", options=list(range(total_blocks + 1)), key="unfreeze",
                         format_func=lambda v: blocks_label(v, total_blocks), disabled=scratch,
                         persist_state="session",
                         help="0 trains only the new head. Each step to the right also fine-tunes one more "
                              "block of the pre-trained network (a group of layers; in a text model, one of its "
                              "layers), starting from the top (the output side).")
    return False, n


def _blocks(unfreeze: int, total_blocks: int) -> int:
    """A proposal as a slider position: all blocks (tl_core.ALL) is the last one."""
    return total_blocks if unfreeze < 0 or unfreeze > total_blocks else unfreeze


def _start_slider_at(proposed: tuple[int, str] | None, total_blocks: int) -> None:
    """Choosing for oneself starts the slider where TransferLab's proposal was."""
    if st.session_state.get("blocks") == "mine" and proposed:
        st.session_state["unfreeze"] = _blocks(proposed[0], total_blocks)


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
            st.caption("Light: mirrored copies, and slightly cropped ones when blocks fine-tune. Strong: also bigger "
                       "crops and colour changes; helps with few photos.")
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
                                 "memory. Automatic: " + tl_core.field_help("batch_size").removeprefix("0 = ") + ".")
        # an older project's own number stays on offer
        stops = sorted({0, tl_core.NEVER, 1, 2, 3, 5, 10, st.session_state.get("early_stop", 0)})
        early = z.selectbox("Stop early", stops, key="early_stop", persist_state="session", format_func=_early_stop,
                            help="Automatic: when pretrained blocks are fine-tuned, stop once a few epochs bring no "
                                 "better validation accuracy; when only the new head learns, never. The best epoch "
                                 "is kept either way; when fine-tuning, the new head fitted before any block trains "
                                 "counts as epoch 0, so fine-tuning never ends below it.")
        seed = x.number_input("Random seed", min_value=0, max_value=2**31 - 1, key="seed", persist_state="session",
                              help="The same seed and settings give the same split and the same result.")
        name = y.text_input("Name this run (optional)", key="run_name", max_chars=80, persist_state="session",
                            placeholder="e.g. head only, 20 epochs")
    return {"lr": float(lr), "batch_size": int(batch), "early_stop": int(early), "seed": int(seed),
            "name": name.strip()}


def _early_stop(epochs: int) -> str:
    named = {0: "automatic", tl_core.NEVER: "never"}
    return named.get(epochs) or f"after {tl_core.plural(epochs, 'epoch')} without gain"


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


# The settings the form sets, in the words a person reads them; a run shown below made with others is said to be.
SETTING_NAMES = {"model": "model", "unfreeze": "choice of what learns", "from_scratch": "choice of what learns",
                 "epochs": "number of epochs", "augment": "augmentation", "val_split": "validation share",
                 "lr": "learning rate", "batch_size": "batch size", "early_stop": "early stop", "seed": "random seed"}


def other_settings(form, made, kind: str, made_epochs: int | None = None) -> list[str]:
    """The settings in which the form's next run (`form`, None while it cannot start) and the run shown (`made`)
    differ: the form above a run made with other ones read as that run's. No model named is the default one; an
    automatic model or block count may well be the one a run shows (a continued run names its choice), so it
    differs from nothing; a run's automatic epochs are the number they came to (`made_epochs`, from its `started`
    event): 20 in the form is the 20 an automatic run trained."""
    if form is None or made is None:
        return []
    default = tl_core.default_model(kind).name
    automatic = {"model": tl_core.AUTO_MODEL, "unfreeze": tl_core.AUTO}

    def differ(key: str) -> bool:
        if key == "augment" and kind == "text":  # pictures only: the form sends "none", the CLI its default
            return False
        ours, theirs = getattr(form, key), getattr(made, key)
        if key == "model":
            ours, theirs = ours or default, theirs or default
        if key == "epochs" and ours and not theirs:
            theirs = made_epochs
        return ours != theirs and automatic.get(key, object()) not in (ours, theirs)

    return list(dict.fromkeys(name for key, name in SETTING_NAMES.items() if differ(key)))


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
    differ = other_settings(config, engine.run_config(current), project["kind"], current.started.get("epochs")) \
        if project else []
    if differ:
        said = ", ".join(differ[:-1]) + " and " + differ[-1] if len(differ) > 1 else differ[0]
        st.caption(f"The settings above are for your next run: this one was made with a different {said} (its own "
                   f"are in its label and summary below).")
    live = current.active
    st.fragment(run_every=1.0 if live else None)(live_run.panel)(current.id, live)
elif run_id:
    frame.error(f"There is no run called {run_id}. Start a new one above.")
