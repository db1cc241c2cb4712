"""Step 1: what transfer learning is, in three sentences and one picture; start a project or reopen one."""
from collections import Counter
from pathlib import Path

import streamlit as st

import tl_core
from pages.common import engine, frame
from pages.common import project as projects
from pages.common.frame import esc

project = frame.start("welcome")

st.subheader("Teach a computer to sort your pictures or texts")
left, right = st.columns([5, 6], gap="large")
with left:
    st.markdown(
        "A **pre-trained network** has already learned to see shapes and textures from millions of photos "
        "(or the meaning of words from millions of sentences).\n\n"
        "**Transfer learning** keeps that knowledge, *frozen*, and adds a small **new head** that learns "
        "your own classes, such as *ants* and *bees*, from a few dozen examples.\n\n"
        "If you have more data, you can also **fine-tune** the last layers of the network, so it adapts "
        "more to your kind of examples."
    )
    st.caption("Everything runs on this computer. Your data never leaves it.")
with right:
    st.image(str(Path(__file__).resolve().parent.parent / "assets" / "transfer_learning.svg"),
             width="stretch", alt="A pre-trained network whose layers are frozen, with a new head that learns your classes")

st.subheader("Start a project")
STARTS = (  # kind, heading, what it is for, button
    ("image", ":material/photo_library: Sort pictures",
     "For example ants vs. bees, ripe vs. unripe fruit, or your own product photos. "
     "Add photos per class, a .zip file, or take webcam shots.", "Start a picture project"),
    ("text", ":material/chat: Sort texts",
     "For example positive vs. negative reviews, or which team an e-mail is for. "
     "Upload a table (CSV, TSV or TXT), or type examples for each class.", "Start a text project"),
)
for column, (kind, heading, about, button) in zip(st.columns(len(STARTS)), STARTS):
    with column, st.container(border=True):
        st.markdown(f"#### {heading}")
        st.write(about)
        if st.button(button, type="primary", key=f"start_{kind}", width="stretch"):
            projects.new(kind)
            frame.go("model")

if project:
    kind = "picture" if project["kind"] == "image" else "text"
    st.info(f"You already have a {kind} project in this tab. Starting a new one keeps the old one's runs.",
            icon=":material/info:")
    name_key = f"project_name_{project['id']}"
    st.text_input("Its name", value=projects.name(project), max_chars=80, key=name_key, width=420,
                  on_change=lambda: projects.rename(project, st.session_state[name_key]),
                  help="Its runs are listed under this name, on every step and below.")
    frame.next_button("model", "Continue your project", key="continue")


def reopen(saved: dict, newest: str | None) -> None:
    """Open an earlier project through its URL, at the Train step with its newest run once it has data (else at
    Add your data): reopened, the Train step showed the form alone, as if the project had never trained."""
    st.session_state.pop("run_id", None)  # a run of the project left behind
    step = "train" if projects.data_source(saved)[0] else "data"
    shown = {"run": newest} if newest and step == "train" else {}
    st.switch_page(frame.BY_SLUG[step].path, query_params={"project": saved["id"], **shown})


def project_runs() -> tuple[dict[str, list[str]], Counter]:
    """Per project, its own runs' ids (newest first) and how many comparisons it ran (Understand's three-run
    experiments, counted once each: a project trained twice read "5 runs" after one comparison)."""
    own: dict[str, list[str]] = {}
    experiments: dict[str, set] = {}
    for run in engine.runs_safe():
        config = engine.run_config(run)
        extra = (config.extra if config else None) or {}
        if "experiment" in extra:
            experiments.setdefault(extra.get("project"), set()).add(extra["experiment"])
        else:
            own.setdefault(extra.get("project"), []).append(run.id)
    return own, Counter({key: len(ids) for key, ids in experiments.items()})


earlier = projects.saved_projects()
if earlier:
    st.subheader("Your projects")
    runs_of, comparisons_of = project_runs()
    with st.container(height=420 if len(earlier) > 4 else "content"):
        for saved in earlier:
            runs, comparisons = runs_of.get(saved["id"], []), comparisons_of[saved["id"]]
            with st.container(border=True, horizontal=True, vertical_alignment="center", key=f"saved_{saved['id']}"):
                st.markdown(f"**{esc(projects.name(saved))}**  \n"
                            f"{'Pictures' if saved['kind'] == 'image' else 'Texts'} · "
                            f"{esc(projects.model_title(saved))} · {esc(projects.data_summary(saved))} · "
                            f"{tl_core.plural(len(runs), 'run')}"
                            + (f" · {tl_core.plural(comparisons, 'comparison')}" if comparisons else ""),
                            width="stretch")
                if project and saved["id"] == project["id"]:
                    st.caption("open now", width="content")
                elif st.button("Reopen", key=f"reopen_{saved['id']}", icon=":material/folder_open:"):
                    reopen(saved, next(iter(runs), None))
