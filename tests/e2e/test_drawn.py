"""Charts and shaded text as Chromium lays them out, without the app: what only a browser can show (overlaps)."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def test_the_runs_legend_hangs_below_the_epoch_axis(context):
    """Five runs' long names overlaid on All runs: the legend, anchored at its bottom, grew up over the epoch axis
    and hid its ticks and title."""
    from pages.common import charts

    name = "Run of 04 Dec 05:0{}:06 · EfficientNet-Lite1 (chosen for you), the last 2 blocks · 100% correct · Plants"
    series = {name.format(i): [(e, 0.5 + 0.02 * e) for e in range(1, 21)] for i in range(5)}
    page = context()
    page.set_viewport_size({"width": 940, "height": 900})
    page.set_content(f"<html><body>{charts.compare(series).to_html(include_plotlyjs=True, full_html=False)}"
                     "</body></html>")
    page.wait_for_selector(".legend")
    legend_top, axis_bottom = page.evaluate("""() => [
        document.querySelector('.legend').getBoundingClientRect().top,
        Math.max(...[...document.querySelectorAll('.xtick text, .g-xtitle text')]
                 .map(t => t.getBoundingClientRect().bottom))]""")
    assert legend_top >= axis_bottom, (legend_top, axis_bottom)


def test_shaded_words_read_as_written(context):
    """A word the tokenizer cut at its apostrophe ("doesn", "'", "t") reads as one word: each piece has its own
    shade, but no padding pushes the pieces apart (it read "doesn ' t" in the browser)."""
    from pages.common.word_weights import words_html

    text = "It doesn't work."
    words = [("It", 0.1), ("doesn", 0.9), ("'", 0.2), ("t", 0.5), ("work", 0.7), (".", 0.0)]
    page = context()
    page.set_content(words_html(text, words) + '<div class="tl-words"><span id="plain">doesn\'t</span></div>')
    shaded, plain = page.evaluate("""() => {
        const pieces = [...document.querySelectorAll('.tl-w')].slice(1, 4).map(s => s.getBoundingClientRect());
        return [pieces[2].right - pieces[0].left, document.getElementById('plain').getBoundingClientRect().width];
    }""")
    assert shaded == pytest.approx(plain, abs=1.0)


def test_every_prediction_bar_shows_its_number_even_at_zero(context):
    """Try it on a text model: a class at 0 % stood as a row with no number (plotly's "auto" drops it)."""
    from pages.common import charts

    page = context()
    page.set_viewport_size({"width": 700, "height": 400})
    top = [("spam", 0.997), ("ham", 0.003), ("other", 0.0)]
    page.set_content(f"<html><body>{charts.predictions(top).to_html(include_plotlyjs=True, full_html=False)}"
                     "</body></html>")
    page.wait_for_selector(".bartext")
    shown = page.evaluate("() => [...document.querySelectorAll('.bartext')].map(t => t.textContent)")
    assert sorted(shown) == ["0%", "0%", "100%"]


@pytest.mark.parametrize("font", [None, 17])  # Streamlit's default size, and a presenter's
def test_the_training_curves_legend_stays_clear_of_the_epoch_axes(context, font):
    """Presenter mode on Train and Results: the curves' legend, anchored in the plot's coordinates, lay over both
    'epoch' axis titles; 20 epochs' ticks ran into each other. At the width of half a page, with a live line."""
    from pages.common import charts
    from tl_core import events

    log = [events.make(events.STARTED, epochs=20, steps=40)]
    log += [events.make(events.PROGRESS, step=s, steps=40, epoch=1 + (s - 1) // 2, loss=1 / s, samples_per_s=9.0,
                        eta_s=1.0) for s in range(1, 41)]
    log += [events.make(events.EPOCH, epoch=e, train_loss=1 / e, val_loss=1.2 / e, val_accuracy=0.5 + e / 50,
                        lr=0.001, elapsed_s=float(e), partial=False) for e in range(1, 21)]
    figure = charts.curves(log, "run")
    if font:
        figure.update_layout(font=dict(size=font))
    page = context()
    page.set_content(f"<html><body style='width: 700px'>{figure.to_html(include_plotlyjs=True, full_html=False)}"
                     "</body></html>")
    page.wait_for_selector(".legend")
    legend_top, axis_bottom, ticks = page.evaluate("""() => [
        document.querySelector('.legend').getBoundingClientRect().top,
        Math.max(...[...document.querySelectorAll('.xtick text, .x2tick text, .g-xtitle text, .g-x2title text')]
                 .map(t => t.getBoundingClientRect().bottom)),
        [...document.querySelectorAll('.xtick text')].map(t => t.getBoundingClientRect())
                 .map(r => [r.left, r.right])]""")
    assert legend_top >= axis_bottom, (legend_top, axis_bottom)
    assert all(a[1] <= b[0] for a, b in zip(ticks, ticks[1:])), ticks  # no tick label over the next


@pytest.mark.parametrize("presenting", [False, True])
def test_a_block_charts_axis_name_stays_inside_it(context, presenting):
    """Beside the network drawing (a third of the page), the per-block chart's axis title, centred under the bars
    right of the long block names, ran off the chart: "how well it already tells your"."""
    from pages.common import charts

    names = [f"Block {i} · objects and their parts" for i in range(7, 0, -1)] + ["Stem · edges and colours"]
    knows = charts.layer_knowledge(names, [0.1, 0.2, 0.3, 0.4, 0.35, 0.2, -0.1, -0.3], presenting)
    moved = charts.layer_change({"names": names, "change": [0.1, 0.05] + [0.0] * 6, "trained": [True, True] +
                                 [False] * 6}, presenting)
    page = context()
    page.set_viewport_size({"width": 900, "height": 1400})
    drawn_alone = (f"<div style='width: 350px'>{fig.to_html(include_plotlyjs=True, full_html=False)}</div>"
                   for fig in (knows, moved))
    page.set_content("<html><body>" + "".join(drawn_alone) + "</body></html>")
    page.wait_for_selector(".annotation-text")
    drawn = page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')].map(plot => {
        const box = plot.getBoundingClientRect(), note = plot.querySelector('.annotation-text').getBoundingClientRect();
        const ticks = [...plot.querySelectorAll('.xtick text, .ytick text')].map(t => t.getBoundingClientRect());
        return {box: [box.left, box.right, box.bottom], note: [note.left, note.right, note.top, note.bottom],
                lowest: Math.max(...ticks.map(t => t.bottom))};
    })""")
    for chart in drawn:
        (left, right, bottom), (note_left, note_right, note_top, note_bottom) = chart["box"], chart["note"]
        assert left <= note_left and note_right <= right and note_bottom <= bottom, chart
        assert note_top >= chart["lowest"] - 1, chart  # below every tick label, not over the numbers
