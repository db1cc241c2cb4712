"""Step 4: choose how much of the network to fine-tune and the training settings; start, watch, stop."""
import time

import streamlit as st

from pages.common import charts, engine, frame
from pages.common import project as projects
from pages.common.frame import esc
from tl_core.data.examples import plural

STOP_GRACE_S = 10.0  # after Stop, the worker gets this long to save and quit before it is killed

project = frame.start("train")


# ---------------------------------------------------------------- settings

def describe_choice(n: int, total_blocks: int, scratch: bool) -> str:
    if scratch:
        return ("**From scratch:** the network forgets what it learned before and starts from random numbers; "
                "every parameter trains. With a small dataset this usually does much worse than transfer "
                "learning, which is exactly what this comparison shows.")
    if n == 0:
        return ("**Only the new head learns.** Everything the network already knows stays frozen. This is the "
                "fastest choice and the safest with little data (a few dozen examples per class).")
    if n >= total_blocks:
        return ("**Every block is fine-tuned.** The network adapts the most to your data, but it needs the most "
                "examples and time, and with little data it may *overfit*: memorise the training examples "
                "instead of learning what the classes have in common.")
    return (f"**The last {n} {'block adapts' if n == 1 else 'blocks adapt'} to your data** as well as the new head. "
            "More layers let the model adapt more, but need more data and time, and may *overfit* (memorise "
            "the training examples) when you have few.")


def blocks_label(n: int, total: int) -> str:
    """'8: all blocks': the slider's position and, in the words runs and model cards use, what it trains."""
    from tl_core.config import ALL, what_trains

    return f"{n}: {what_trains(ALL if n >= total else n)}"


def settings(project: dict):
    """Draw the form; return a RunConfig ready to start, or None when something must be fixed first."""
    from tl_core.config import ALL, RunConfig

    kind = project["kind"]
    path, text_col, label_col = projects.data_source(project)
    if path is None:
        st.info("Add your data first: training needs examples for at least two classes.", icon=":material/info:")
        frame.link("data", "Go to step 3: Add your data")
        return None
    data, message = engine.dataset(path, text_col, label_col, projects.stamp(path), projects.label_names(project))
    if message:
        frame.error(message)
        frame.link("data", "Go to step 3: Add your data")
        return None
    own_split = any(e.split for e in data.examples)

    layout, message = engine.layout(project["model"], kind, len(data.classes))
    if message:
        frame.error(message)
        frame.link("model", "Go to step 2: Choose a model")
        return None
    total_blocks = layout.num_blocks

    projects.use_settings(project)
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
            st.caption(f"Your smallest class has {plural(smallest, 'example')}. With fewer than about 50 per "
                       "class, only the new head usually does best; try both and compare them on the All runs step.")
    with right:
        st.html(charts.network_html(list(layout.blocks), plan.first_trainable, layout.head, kind,
                                    len(data.classes), scratch))

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
                "Augmentation", ["none", "light", "strong"], key="augment", persist_state="session", required=True,
                format_func={"none": "None", "light": "Light", "strong": "Strong"}.get,
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
    projects.keep_settings(project)

    report, message = engine.report(data, val_percent / 100, int(seed))
    problems = [message] if message else list(report.errors)
    if problems:  # the same check training makes first: refuse here, with the reasons, instead of failing there
        for problem in problems:
            frame.error(problem)
        frame.link("data", "Fix it on step 3: Add your data")
        return None
    info = engine.model_info(project["model"], kind)
    if not info.available:
        frame.warning(f"{info.title} {info.availability}; without internet this run will stop with an explanation.")
    unfreeze = 0 if scratch else ALL if n >= total_blocks else n  # "all blocks", as the slider said
    return RunConfig(data=str(path), model=project["model"], unfreeze=unfreeze, from_scratch=scratch,
                     epochs=int(epochs), lr=float(lr), batch_size=int(batch), val_split=val_percent / 100,
                     seed=int(seed), augment=augment or "light", early_stop=int(early), text_column=text_col,
                     label_column=label_col, label_names=projects.label_names(project), name=name.strip(),
                     extra={"project": project["id"], "kind": kind})


def start(config) -> None:
    from tl_core.runs import start_run

    run, message = engine.attempt("starting training", start_run, config)
    if message:
        st.session_state["start_problem"] = message
        return
    st.session_state["run_id"] = run.id
    st.query_params["run"] = run.id


# ---------------------------------------------------------------- the live view of a run

def duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    return f"{seconds // 60} min {seconds % 60:02d} s"


def stop_requested_at(run) -> float | None:
    try:
        return (run.dir / "stop").stat().st_mtime
    except OSError:
        return None


def panel(run_id: str, was_live: bool) -> None:
    run = engine.get_run(run_id)
    if run is None:
        frame.error(f"There is no run called {run_id}. Start a new one above.")
        return
    status, message = engine.attempt("reading the run's status", run.status)
    if message:
        frame.error(message)
        return
    events = run.events()
    state = status.get("state", "queued")
    live = state in ("queued", "running")
    started = next((e for e in events if e["event"] == "started"), None)
    stopped_at = stop_requested_at(run)

    if live and stopped_at and time.time() - stopped_at > STOP_GRACE_S:
        run.kill()  # stage two: the worker did not stop in time
    if state == "queued":
        ahead = status.get("position") or run.queue_position()
        if ahead:
            st.info(f"Waiting for its turn: {ahead} {'run is' if ahead == 1 else 'runs are'} ahead of this one "
                    "(one run trains at a time).", icon=":material/hourglass_top:")
        else:
            st.info("Starting the training process…", icon=":material/hourglass_top:")
    elif state == "running" and not started:
        since = time.time() - (status.get("started") or time.time())
        st.info(f"Getting ready ({duration(since)} so far): reading your data, loading the pre-trained model and "
                "passing every example once through the frozen layers. This can take a minute; the curves "
                "start when training does.", icon=":material/hourglass_top:")
        preparing = [e for e in events if e["event"] == "preparing"]
        if preparing and preparing[-1].get("total"):
            last = preparing[-1]
            st.progress(min(1.0, last["done"] / last["total"]),
                        text=f"{esc(last['text'])}: {last['done']} of {last['total']}")
    if started:
        device = str(started.get("device") or status.get("device") or "?")
        views = started.get("views_per_example", 1)
        copies = f" (each seen {views} ways: mirrored or augmented copies)" if views > 1 else ""
        st.markdown(f"**Training on:** {esc(device.split(',')[0])} · {started['trainable_params']:,} of "
                    f"{plural(started['total_params'], 'parameter')} learn · "
                    f"{plural(started['train_examples'], 'example')} for training{copies}, "
                    f"{started['val_examples']:,} for checking · {plural(started['epochs'], 'epoch')}")
    progress = [e for e in events if e["event"] == "progress"]
    epochs_done = [e for e in events if e["event"] == "epoch"]
    if live and progress:
        last = progress[-1]
        share = min(1.0, last["step"] / max(1, last["steps"]))
        st.progress(share, text=f"{share:.0%} · epoch {last['epoch']} of {started['epochs'] if started else '?'} · "
                                f"about {duration(last['eta_s'])} left · "
                                f"{plural(round(last['samples_per_s']), 'example')} per second")
    elif state == "finished":
        st.progress(1.0, text="100% · done")
    for note in (e for e in events if e["event"] == "note"):
        st.info(esc(note.get("text", "")), icon=":material/info:")
    if live or progress or epochs_done:
        st.caption(f"Epochs finished: {len(epochs_done)}" + (f" of {started['epochs']}" if started else ""))
        st.plotly_chart(charts.curves(events, run_id), key=f"curves_{run_id}", config=charts.CONFIG)
        if charts.curves_note(events):
            st.caption(charts.curves_note(events))

    if live:
        if stopped_at:
            st.warning("Stopping… the best model so far is being saved.", icon=":material/stop_circle:")
        else:
            st.button("Stop training", icon=":material/stop:", key=f"stop_{run_id}", on_click=run.request_stop,
                      help="Stops after the current step and keeps the best model so far.")
    elif state == "finished":
        ending = next((e for e in reversed(events) if e["event"] == "finished"), {})
        accuracy = ending.get("best_val_accuracy") or status.get("best_val_accuracy") or 0
        st.success(f"Training finished in {duration(ending.get('elapsed_s', 0))}. Best validation accuracy: "
                   f"{accuracy:.0%} (epoch {ending.get('best_epoch', '?')}).", icon=":material/check_circle:")
        results_buttons(run_id)
    elif state == "cancelled":
        if run.has_model():
            st.info("Training was stopped. The best model so far was kept, so you can still look at its results.",
                    icon=":material/stop_circle:")
            results_buttons(run_id)
        else:
            st.info("Training was stopped before the first epoch finished, so there is no model to keep.",
                    icon=":material/stop_circle:")
    elif state == "failed":
        reason = status.get("message") or next((e.get("reason") for e in reversed(events) if e["event"] == "failed"),
                                               "Training failed.")
        frame.error(f"Training failed: {reason}")
    elif state == "interrupted":
        if stopped_at:
            st.info("Training was stopped.", icon=":material/stop_circle:")
        else:
            frame.error(status.get("message") or "Training was interrupted. Start it again.")
    if was_live and not live:
        st.rerun()  # the whole page again, without the timer


def results_buttons(run_id: str) -> None:
    with st.container(horizontal=True):
        if st.button("See the results", type="primary", icon=":material/insights:", key=f"to_results_{run_id}"):
            frame.go("results", run=run_id)
        if st.button("Try the model", icon=":material/science:", key=f"to_try_{run_id}"):
            frame.go("try", run=run_id)


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
    st.caption(f"{esc(engine.run_label(current))}. You can leave this page or reload it: training goes on, "
               "and this page reconnects.")
    state = (current.status() or {}).get("state")
    live = state in ("queued", "running")
    st.fragment(run_every=1.0 if live else None)(panel)(current.id, live)
elif run_id:
    frame.error(f"There is no run called {run_id}. Start a new one above.")
