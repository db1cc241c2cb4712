"""TransferLab's web app: a walk-through in eight steps, one page file per step (see pages/).

Start it with `streamlit run app.py` (or `transferlab app`). The app only draws and collects settings;
training runs in its own process through tl_core, and every page reads the run folder on disk.
"""
import streamlit as st

from pages.common.frame import STEPS

# No page icons here: Streamlit shows a `:material/...:` page icon as the tab's icon by fetching it from
# fonts.gstatic.com. The step indicator draws each step's icon from the font that ships with Streamlit.
pages = [st.Page(step.path, title=step.title, url_path=step.slug, default=number == 1)
         for number, step in enumerate(STEPS, start=1)]
st.navigation(pages, position="hidden").run()
