"""TransferLab's web app: a walk-through in eight steps, one page file per step (see pages/).

Start it with `streamlit run app.py` (or `transferlab app`). The app only draws and collects settings;
training runs in its own process through tl_core, and every page reads the run folder on disk.
"""
import streamlit as st

from pages.common.frame import STEPS
from tl_core.runs import active_runs
from tl_core.standby import ensure_standby

if not active_runs():  # keep a worker warm (torch imported) for the next Start, but never beside a training run
    ensure_standby()
pages = [st.Page(step.path, title=f"{number}. {step.title}", icon=step.icon, url_path=step.slug, default=number == 1)
         for number, step in enumerate(STEPS, start=1)]
st.navigation(pages, position="hidden").run()
