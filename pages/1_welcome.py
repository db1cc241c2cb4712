"""Step 1: what transfer learning is, in three sentences and one picture; start a project."""
from pathlib import Path

import streamlit as st

from pages.common import frame
from pages.common import project as projects

project = frame.start("welcome")

st.title("Teach a computer to sort your pictures or texts")
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
images, texts = st.columns(2)
with images, st.container(border=True):
    st.markdown("#### :material/photo_library: Sort pictures")
    st.write("For example ants vs. bees, ripe vs. unripe fruit, or your own product photos. "
             "Add photos per class, a .zip file, or take webcam shots.")
    if st.button("Start a picture project", type="primary", key="start_image", width="stretch"):
        projects.new("image")
        frame.go("model")
with texts, st.container(border=True):
    st.markdown("#### :material/chat: Sort texts")
    st.write("For example positive vs. negative reviews, or which team an e-mail is for. "
             "Upload a table (CSV, TSV or TXT), or type examples for each class.")
    if st.button("Start a text project", type="primary", key="start_text", width="stretch"):
        projects.new("text")
        frame.go("model")

if project:
    kind = "picture" if project["kind"] == "image" else "text"
    st.info(f"You already have a {kind} project in this tab. Starting a new one keeps the old one's runs.",
            icon=":material/info:")
    frame.next_button("model", "Continue your project", key="continue")
