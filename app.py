"""TransferLab's web app: a walk-through in seven steps, one page file per step (see pages/).

Start it with `streamlit run app.py` (or `transferlab app`). The app only draws and collects settings;
training runs in its own process through tl_core, and every page reads the run folder on disk.
"""
import streamlit as st

from pages.common.frame import STEPS
from tl_core.standby import ensure_standby


@st.cache_resource
def warm_worker() -> bool:
    """Start a worker that imports torch now, so the first Start click does not wait for it."""
    ensure_standby()
    return True


warm_worker()
pages = [st.Page(step.path, title=f"{number}. {step.title}", icon=step.icon, url_path=step.slug, default=number == 1)
         for number, step in enumerate(STEPS, start=1)]
st.navigation(pages, position="hidden").run()
