"""TransferLab's web app: a walk-through in eight steps, one page file per step (see pages/).

Start it with `streamlit run app.py` (or `transferlab app`). The app only draws and collects settings;
training runs in its own process through tl_core, and every page reads the run folder on disk.
"""
import streamlit as st

from pages.common.frame import STEPS

pages = [st.Page(step.path, title=f"{number}. {step.title}", icon=step.icon, url_path=step.slug, default=number == 1)
         for number, step in enumerate(STEPS, start=1)]
st.navigation(pages, position="hidden").run()
