"""The frame every step shares: page setup, the step indicator, the project summary, moving between steps.

Each page file calls `start(slug)` first, so a page also works when Streamlit runs it on its own
(a deep link right after the server starts runs a `pages/` file without `app.py`).
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

import tl_core

from . import project as projects


@dataclass(frozen=True)
class Step:
    slug: str      # the URL path: /train
    title: str     # the step's one name: its page title, its item in the step indicator, its browser tab
    path: str      # the page file, relative to app.py
    icon: str


STEPS = (
    Step("welcome", "Welcome", "pages/1_welcome.py", ":material/waving_hand:"),
    Step("model", "Choose a model", "pages/2_model.py", ":material/neurology:"),
    Step("data", "Add your data", "pages/3_data.py", ":material/photo_library:"),
    Step("train", "Train", "pages/4_train.py", ":material/model_training:"),
    Step("results", "Results", "pages/5_results.py", ":material/insights:"),
    Step("try", "Try it", "pages/6_try.py", ":material/science:"),
    Step("runs", "All runs", "pages/7_runs.py", ":material/history:"),
    Step("understand", "Why it works", "pages/8_understand.py", ":material/lightbulb:"),
)
BY_SLUG = {s.slug: s for s in STEPS}


# The browser tab's icon, shipped with the app: a `:material/...:` page icon makes the browser fetch an SVG from
# fonts.gstatic.com (Streamlit's frontend builds that URL for favicons), which fails offline.
FAVICON = Path(__file__).resolve().parents[2] / "assets" / "favicon.svg"


def start(slug: str) -> dict | None:
    """Set up the page, reconnect to the project and run named in the URL, draw the frame and the page's title.

    Returns the current project (a dict) or None when no project has been started in this browser tab.
    """
    step = BY_SLUG[slug]
    st.set_page_config(page_title=f"{step.title} · TransferLab", page_icon=str(FAVICON), layout="wide")
    tl_core.keep_warm()  # here, not in app.py: a link straight to a step on a fresh server skips app.py
    project = projects.current()
    _keep_in_url(project)
    _step_indicator(step)
    _sidebar(project)
    st.title(step.title)
    return project


def _keep_in_url(project: dict | None) -> None:
    """Page links drop query parameters; put the project and run back so a refresh or a new tab reconnects."""
    if project and st.query_params.get("project") != project["id"]:
        st.query_params["project"] = project["id"]
    run_id = st.session_state.get("run_id")
    if run_id and not st.query_params.get("run"):
        st.query_params["run"] = run_id


def url_params() -> dict:
    """The query parameters every link between steps carries."""
    params = {}
    for name in ("project", "run"):
        value = st.query_params.get(name)
        if value:
            params[name] = value
    return params


def go(slug: str, **extra: str) -> None:
    """Switch to another step, keeping the project and run in the URL."""
    st.switch_page(BY_SLUG[slug].path, query_params={**url_params(), **extra})


def link(slug: str, label: str | None = None, icon: str | None = None, **kwargs) -> None:
    step = BY_SLUG[slug]
    _page_link(step.path, label=label or step.title, icon=icon or step.icon, query_params=url_params(), **kwargs)


def _page_link(path: str, label: str, **kwargs) -> None:
    """A link to a step; plain text when Streamlit runs a page file without the app's page list."""
    from streamlit.errors import StreamlitPageNotFoundError

    try:
        st.page_link(path, label=label, **kwargs)
    except StreamlitPageNotFoundError:
        st.markdown(label)


def next_button(slug: str, label: str, disabled: bool = False, help: str | None = None, key: str | None = None):
    """The big button at the bottom of a step that leads to the next one."""
    if st.button(label, type="primary", icon=":material/arrow_forward:", icon_position="right",
                 disabled=disabled, help=help, key=key or f"next_{slug}"):
        go(slug)


def _step_indicator(current: Step) -> None:
    number = STEPS.index(current) + 1
    with st.container(horizontal=True, gap="small", vertical_alignment="center", key="stepper"):
        st.markdown("**TransferLab**")
        for index, step in enumerate(STEPS, start=1):
            here = step is current
            label = f"{index} · {step.title}"
            icon = ":material/radio_button_checked:" if here else step.icon
            _page_link(step.path, label=f"**{label}**" if here else label, icon=icon,
                       query_params=url_params(), help=f"Step {index} of {len(STEPS)}")
    st.progress(number / len(STEPS), text=f"Step {number} of {len(STEPS)}: {current.title}")


def _sidebar(project: dict | None) -> None:
    with st.sidebar:
        st.subheader("Your project")
        if not project:
            st.caption("No project yet. Start one on the Welcome step.")
        else:
            kind = "Pictures" if project["kind"] == "image" else "Texts"
            st.markdown(f"**What it sorts:** {kind}")
            st.markdown(f"**Model:** {esc(projects.model_title(project))}")
            st.markdown(f"**Data:** {esc(projects.data_summary(project))}")
        # No "Current run: <id>" here: drawn before a page's run picker, it named the run picked before (Try it
        # showed one run beside another's id), and an id says nothing to a person; each page's picker names its run.
        st.divider()
        _presenter_toggle()
        st.caption("Everything stays on this computer: your data, your models, your runs.")


def presenting() -> bool:
    """Whether presenter mode is on (the sidebar toggle; kept in the URL as ?present=1)."""
    return bool(st.session_state.get("presenter"))


def _presenter_toggle() -> None:
    """The toggle, kept in session state and in the URL, so other steps, a refresh or a shared link keep it.

    The choice lives under its own key: each page's toggle is a new widget that would start off again.
    Not `bind="query-params"` either: a bound parameter makes `st.query_params.clear()` (a new project) fail.
    """
    if "presenter" not in st.session_state:  # a new session (a refresh, a shared link): the URL says
        st.session_state["presenter"] = st.query_params.get("present") == "1"
    st.session_state["present"] = presenting()
    st.toggle("Presenter mode", key="present", on_change=_remember_presenter,
              help="For a projector: bigger text and charts, and advanced settings tucked away.")
    if presenting():
        st.html(_PRESENTER_CSS)
        if st.query_params.get("present") != "1":  # page links and a new project drop it
            st.query_params["present"] = "1"
    elif "present" in st.query_params:
        del st.query_params["present"]


def _remember_presenter() -> None:
    st.session_state["presenter"] = st.session_state["present"]


# Presenter mode: every text a quarter larger (Streamlit sizes text in rem; CSS zoom would push Plotly charts
# past the page's edge, so the Understand step's charts grow by themselves), and the Train step's
# "Advanced settings" (the expander holding the learning rate) hidden; its values still apply.
_PRESENTER_CSS = """<style>
html {font-size: 20px;}
[data-testid="stExpander"]:has(.st-key-lr) {display: none;}
</style>"""


# ---------------------------------------------------------------- showing user text safely

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:^=&])")


def whole_percent(share: float) -> int:
    """A share as the whole percent the sentences beside a table say (`f"{share:.0%}"`, halves to even): a table's
    own "%.0f" rounds halves up in the browser, so a run's 62.5 % read 63 % in the runs table and 62 % in its name."""
    return round(100 * share)


def esc(text: object) -> str:
    """User text (a class name, a file name, an error naming one) made inert inside Streamlit markdown."""
    return _MARKDOWN.sub(r"\\\1", " ".join(str(text).split()))


def plot_text(text: object) -> str:
    """User text inside a Plotly label, which understands a little HTML."""
    return html.escape(str(text), quote=True)


def error(message: object) -> None:
    st.error(esc(message), icon=":material/error:")


def warning(message: object) -> None:
    st.warning(esc(message), icon=":material/warning:")
