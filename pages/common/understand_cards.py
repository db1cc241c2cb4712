"""The Understand step's galleries: validation pictures with their heat maps, sentences with their weighted words."""
import streamlit as st

from . import understand as u
from .frame import esc
from .word_weights import words_html, words_key


def picture_cards(cards: list[dict]) -> None:
    """Each picture with its heat maps: evidence for the model's answer and, when that is wrong, for the truth."""
    if not cards:
        st.info("No validation pictures could be read for this run.", icon=":material/info:")
        return
    for card in cards:
        with st.container(border=True):
            about, maps = st.columns([1.2, 3], gap="medium")
            picture, predicted, true = maps.columns(3, vertical_alignment="bottom")  # images in line
            verdict = ":green[**right**]" if card["correct"] else ":red[**wrong**]"
            about.markdown(f"True class: **{esc(card['true'])}**  \nThe model said: "
                           f"**{esc(card['predicted'])}** ({card['confidence']:.0%} sure)  \n"
                           f"That is {verdict}.")
            if card["correct"]:
                about.caption("Since it was right, this one map also shows the evidence for the true class.")
            about.caption(esc(card["name"]))
            picture.caption("The picture, as the model saw it")
            picture.image(card["picture"], width="stretch")
            predicted.caption(f"Evidence for **{esc(card['predicted'])}** (its answer)")
            predicted.image(card["predicted_map"], width="stretch")
            if not card["correct"]:
                true.caption(f"Evidence for **{esc(card['true'])}** (the truth)")
                true.image(card["true_map"], width="stretch")
    st.html(u.heat_key())
    st.caption(u.how_to_read("gradcam", "gradcam_true"))


def sentence_cards(cards: list[dict]) -> None:
    """Each sentence with its words shaded by how much they counted for the model's answer."""
    for card in cards:
        with st.container(border=True):
            verdict = ":green[**right**]" if card["predicted"] == card["true"] else ":red[**wrong**]"
            st.markdown(f"True class: **{esc(card['true'])}** · the model said: "
                        f"**{esc(card['predicted'])}** ({card['confidence']:.0%} sure): {verdict}")
            st.html(words_html(card["text"], card["words"]))
    st.html(words_key())
    st.caption(u.how_to_read("tokens"))
