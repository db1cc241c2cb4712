"""Step 2: pick the pre-trained network to start from, as cards from the catalogue."""
import streamlit as st

import tl_core
from pages.common import engine, frame
from pages.common import project as projects

project = frame.start("model")

if not project:
    st.info("First tell TransferLab what you want to sort.", icon=":material/info:")
    a, b = st.columns(2)
    if a.button("Start a picture project", key="empty_image", width="stretch"):
        projects.new("image")
        st.rerun()
    if b.button("Start a text project", key="empty_text", width="stretch"):
        projects.new("text")
        st.rerun()
    st.stop()

kind = project["kind"]
st.write("Each model below has already learned from a large collection of "
         + ("photos" if kind == "image" else "texts")
         + ". TransferLab keeps that knowledge and teaches it your classes. "
           "The recommended model is chosen for you; it is small, quick and works without internet.")

SPEED = {"fastest": "very quick to train", "fast": "quick to train", "medium": "takes a while to train",
         "slow": "slow to train without a graphics card"}


def parameters(info) -> str:
    """The count the Train step shows (the network your new head sits on), and the published one when it differs."""
    kept = f"{info.kept_params_m:.1f} million parameters"
    if round(info.kept_params_m, 1) == round(info.params_m, 1):
        return kept
    return f"{kept} ({info.params_m:.1f} million with ImageNet's 1,000-class output layer, which your classes replace)"


models = tl_core.catalog(kind)
columns = st.columns(3)
for index, info in enumerate(models):
    chosen = info.name == project["model"]
    with columns[index % 3], st.container(border=True, key=f"card_{info.name}"):
        heading = f"#### {info.title}"
        st.markdown(heading)
        badges = st.container(horizontal=True, gap="small")
        with badges:
            if info.default:
                st.badge("Recommended", icon=":material/star:", color="violet")
            if info.available:
                st.badge("available offline", icon=":material/check:", color="green")
            else:
                st.badge(info.availability, icon=":material/cloud_download:", color="gray")
        st.write(info.summary)
        st.markdown(f"**Learned from:** {info.learned_from}  \n"
                    f"**Size:** {info.size_mb} MB · {parameters(info)}  \n"
                    f"**Speed on a laptop:** {SPEED.get(info.speed, info.speed)}")
        if chosen:
            st.button("Selected", icon=":material/check_circle:", disabled=True, key=f"pick_{info.name}",
                      width="stretch")
        elif st.button("Use this model", key=f"pick_{info.name}", width="stretch"):
            project["model"] = info.name
            projects.save(project)
            st.rerun()

chosen = engine.model_info(project["model"], kind)
if not chosen.available:
    st.warning(f"{chosen.title} is not on this computer yet: training it {chosen.availability} and an "
               "internet connection. Without one, training stops with an explanation; the recommended model "
               "always works offline.", icon=":material/cloud_off:")
frame.next_button("data", "Next: add your data")
