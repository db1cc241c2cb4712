"""Words shaded by how much they counted for a text model's answer, as escaped HTML."""
from __future__ import annotations

import html

_WORDS_STYLE = """<style>
.tl-words {font-size: 1.15rem; line-height: 2.1;}
.tl-words .tl-w {padding: 2px 0; border-radius: 3px; color: #111827;}
.tl-key {font-size: 0.85rem; color: #4b5563;}
</style>"""


def _shade(score: float) -> str:
    strength = 0.06 + 0.84 * min(1.0, max(0.0, float(score)))
    return f"rgba(249, 115, 22, {strength:.2f})"


def words_html(text: str, words: list[tuple[str, float]]) -> str:
    """The text as written, each word on an orange background as strong as its weight.

    Every piece of the person's text goes through html.escape; only our own numbers go into attributes.
    """
    out, cursor = [], 0
    for word, score in words:
        found = text.find(word, cursor) if word else -1
        if found < 0:  # a piece not spelled as in the text: show it, without the text in between
            out.append(" ")
            found, word_end = cursor, cursor
        else:
            out.append(html.escape(text[cursor:found]))
            word_end = found + len(word)
        out.append(f'<span class="tl-w" style="background: {_shade(score)}" title="weight {score:.0%}">'
                   f"{html.escape(word)}</span>")
        cursor = max(cursor, word_end)
    out.append(html.escape(text[cursor:]))
    return _WORDS_STYLE + '<div class="tl-words">' + "".join(out) + "</div>"


def words_key() -> str:
    steps = "".join(f'<span class="tl-w" style="background: {_shade(s)}">&nbsp;&nbsp;&nbsp;</span>'
                    for s in (0.0, 0.25, 0.5, 0.75, 1.0))
    return (_WORDS_STYLE + f'<div class="tl-key">hardly counted <span class="tl-words" style="font-size: 0.85rem">'
            f"{steps}</span> counted most</div>")
