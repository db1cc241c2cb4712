"""The pictures the pages draw: Plotly figures, and the network as a stack of blocks (our own static HTML).

Anything a person typed (class names) goes through `plot_text` before it reaches a Plotly label,
and never into the HTML drawing.
"""
from __future__ import annotations

import html

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from tl_core import CLOSE_SCORES, plural, scored_epochs_in

from .frame import plot_text

BLUE, ORANGE, GREEN, GREY = "#2563eb", "#f97316", "#16a34a", "#9ca3af"
KNOWS = "#7c3aed"  # what a block already knows: not green, the drawing's colour for the new head beside it
PALETTE = ["#2563eb", "#f97316", "#16a34a", "#dc2626", "#7c3aed", "#0891b2", "#ca8a04", "#db2777"]
CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}


EPOCH_AXIS = "epoch (one pass over the data)"  # "... over the training examples" was cut off in presenter mode
LEGEND_ROOM = 80  # px below a chart's axes for a legend of two rows at presenter mode's sizes (curves)


def _layout(fig: go.Figure, height: int, revision: str | None = None) -> go.Figure:
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), uirevision=revision or "fixed",
                      legend=dict(orientation="h", yanchor="bottom", y=-0.35, x=0))
    return fig


def counts(report) -> go.Figure:
    """Examples per class, split into the part that trains and the part that checks."""
    classes = list(report.counts)
    names = [plot_text(c) for c in classes]
    fig = go.Figure()
    if report.train_counts:
        fig.add_bar(name="for training", x=names, y=[report.train_counts.get(c, 0) for c in classes], marker_color=BLUE)
        fig.add_bar(name="for checking (validation)", x=names, y=[report.val_counts.get(c, 0) for c in classes],
                    marker_color=ORANGE)
    else:
        fig.add_bar(name="examples", x=names, y=[report.counts[c] for c in classes], marker_color=BLUE)
    fig.update_layout(barmode="stack", yaxis_title="examples", title="Examples per class")
    return _layout(fig, 320)


def curves(events: list[dict], revision: str, earlier: list[dict] = ()) -> go.Figure:
    """Loss and validation accuracy as training goes; the thin line moves within an epoch.

    A run that keeps training an earlier one numbers its epochs on (the `started` event's `first_epoch`);
    `earlier` are the earlier run's epochs up to the model it started from, drawn first so the lines run on as one
    curve, with a dotted line where this run took over.

    When the new head was fitted on frozen features before fine-tuning (the `started` event's `head_fit`),
    that phase is a shaded band ending at epoch 0, where the per-epoch lines start from the fitted head's
    scores: otherwise a training loss near zero from the first step looks like a broken chart.
    """
    started = next((e for e in events if e["event"] == "started"), {})
    epochs = started.get("epochs") or 0
    steps = started.get("steps") or 0
    per_epoch = steps / epochs if epochs and steps else None
    before = started.get("first_epoch", earlier[-1]["epoch"] + 1 if earlier else 1) - 1  # epochs trained before it
    progress = [e for e in events if e["event"] == "progress"]
    head_fit = started.get("head_fit")
    finished_epochs = list(earlier) + scored_epochs_in(events)

    fig = make_subplots(rows=1, cols=2, subplot_titles=("Loss: lower is better", "Validation accuracy: higher is better"))
    if per_epoch and progress:
        x, y = _within_epochs([before + e["step"] / per_epoch for e in progress], [e["loss"] for e in progress])
        fig.add_scatter(x=x, y=y, name="training loss (live)", mode="lines+markers", marker=dict(size=3),
                        line=dict(color=BLUE, width=1), opacity=0.45, row=1, col=1)
    x = [e["epoch"] for e in finished_epochs]
    fig.add_scatter(x=x, y=[e["train_loss"] for e in finished_epochs], name="training loss (per epoch)",
                    mode="lines+markers", line=dict(color=BLUE), row=1, col=1)
    fig.add_scatter(x=x, y=[e["val_loss"] for e in finished_epochs], name="validation loss",
                    mode="lines+markers", line=dict(color=ORANGE), row=1, col=1)
    fig.add_scatter(x=x, y=[100 * e["val_accuracy"] for e in finished_epochs], name="validation accuracy",
                    mode="lines+markers", line=dict(color=GREEN), row=1, col=2)
    span = [-HEAD_FIT_WIDTH if head_fit else 0, before + max(epochs, 1) + 0.2] if epochs else None
    fig.update_xaxes(title_text=EPOCH_AXIS, range=span,
                     dtick=1 if epochs and before + epochs <= 10 else None)  # 20 ticks ran into each other
    if earlier:
        fig.add_vline(x=before, line_dash="dot", line_color=GREY, annotation_text=CONTINUED_MARK,
                      annotation_position="top left")
    fig.update_yaxes(title_text="loss", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="% correct", range=[0, 102], row=1, col=2)
    if head_fit:
        head_fit_band(fig, "all")
    _layout(fig, 360 + LEGEND_ROOM, revision)
    # The legend in its own room at the figure's foot: anchored in the plot's coordinates it lay over both epoch
    # axis titles once it wrapped or its text grew (presenter mode); measured in Chromium (tests/e2e/test_drawn.py).
    fig.update_layout(margin=dict(b=10 + LEGEND_ROOM),
                      legend=dict(orientation="h", yref="container", yanchor="bottom", y=0, x=0))
    return fig


def head_fit_band(fig: go.Figure, col: int | str) -> None:
    """The grey band ending at epoch 0 where the new head was fitted before fine-tuning, on subplot column `col`."""
    fig.add_vrect(x0=-HEAD_FIT_WIDTH, x1=0, fillcolor=GREY, opacity=0.25, line_width=0, row=1, col=col,
                  name=HEAD_FIT_MARK, annotation_text=HEAD_FIT_MARK, annotation_position="inside",
                  annotation_textangle=-90, annotation_font=dict(size=12, color="#374151"))


def _within_epochs(x: list[float], y: list[float]) -> tuple[list, list]:
    """The live loss joined only between points less than an epoch apart: a short run logs a step or two in all,
    and the line drawn between them ran straight from epoch 1 to epoch 20, as if the loss had fallen evenly."""
    xs, ys = x[:1], y[:1]
    for i in range(1, len(x)):
        if x[i] - x[i - 1] > 1:
            xs.append(None)
            ys.append(None)
        xs.append(x[i])
        ys.append(y[i])
    return xs, ys


HEAD_FIT_WIDTH = 0.5          # how wide, in epochs, the band for fitting the head before fine-tuning is drawn
HEAD_FIT_MARK = "head fitted first"
CONTINUED_MARK = "this run starts here"


def curves_note(events: list[dict]) -> str:
    """What to read from the loss chart when the head was fitted before fine-tuning; "" otherwise."""
    started = next((e for e in events if e["event"] == "started"), {})
    head_fit = started.get("head_fit")
    if not head_fit:
        return ""
    return (f"Grey band, epoch 0: before fine-tuning began, the new head was fitted on what the frozen network "
            f"makes of the training examples. It already fits them closely (training loss "
            f"{head_fit['train_loss']:.3f}), so fine-tuning's training loss starts low; that is not a fault. "
            f"Watch the validation loss ({head_fit['val_loss']:.2f} at epoch 0) and accuracy "
            f"({head_fit['val_accuracy']:.0%}): they show whether fine-tuning helps on examples it never trained on."
            + (HEAD_TRAINED_ALONE if head_fit.get("trained_alone") else ""))


HEAD_TRAINED_ALONE = (" Epoch 0 shows the head trained as a head-only run trains it: it scored higher than the fit "
                      "fine-tuning starts from, and the run keeps it only if every fine-tuning epoch scores below it.")


EDGE = 0.3  # epochs of room either side of the first and last points, for their markers


def compare(series: dict[str, list[tuple[int, float]]]) -> go.Figure:
    """Validation accuracy of several runs, one line each."""
    fig = go.Figure()
    for index, (name, points) in enumerate(series.items()):
        fig.add_scatter(x=[p[0] for p in points], y=[100 * p[1] for p in points], name=plot_text(name),
                        mode="lines+markers", line=dict(color=PALETTE[index % len(PALETTE)]))
    epochs = [p[0] for points in series.values() for p in points]
    if epochs:  # Plotly's own range padded a run of epochs 0 and 1 out to -1
        fig.update_xaxes(range=[min(epochs) - EDGE, max(epochs) + EDGE],
                         dtick=1 if max(epochs) - min(epochs) <= 20 else None)
    fig.update_layout(title="Validation accuracy per epoch", xaxis_title=EPOCH_AXIS, yaxis_title="% correct",
                      yaxis_range=[0, 102])
    _layout(fig, 340 + 22 * len(series))
    # one run's long name a row, hanging below the axis: anchored at its bottom, five rows grew up over the epochs
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.26, x=0))
    return fig


def confusion(classes: list[str], matrix: list[list[int]]) -> go.Figure:
    names = [plot_text(c) for c in classes]
    fig = go.Figure(go.Heatmap(z=matrix, x=names, y=names, colorscale="Blues", showscale=False,
                               text=matrix, texttemplate="%{text}", textfont=dict(size=16),
                               hovertemplate="true: %{y}<br>predicted: %{x}<br>%{z} examples<extra></extra>"))
    fig.update_layout(title="Confusion matrix", xaxis_title="what the model predicted", yaxis_title="the true class",
                      yaxis_autorange="reversed", xaxis_type="category", yaxis_type="category")
    return _layout(fig, 120 + 60 * len(classes))


INSIDE_FROM = 15  # percent: a shorter prediction bar gets its number beside it


def predictions(top: list[tuple[str, float]]) -> go.Figure:
    labels = [plot_text(label) for label, _ in top][::-1]
    values = [100 * p for _, p in top][::-1]
    colors = [GREY] * (len(values) - 1) + [BLUE]
    # A bar too short to hold its number gets it beside it: "auto" does that for short bars but drops the number of
    # a bar at 0 (plotly.js #6474), so a text model's "0%" class read as an unlabelled row.
    fig = go.Figure(go.Bar(x=values, y=labels, orientation="h", marker_color=colors,
                           text=[f"{v:.0f}%" for v in values],
                           textposition=["inside" if v >= INSIDE_FROM else "outside" for v in values],
                           hovertemplate="%{y}: %{x:.1f}%<extra></extra>"))
    fig.update_layout(title="How sure the model is", xaxis_title="probability (%)", xaxis_range=[0, 100],
                      yaxis_type="category")
    return _layout(fig, 110 + 45 * len(top))


RECOMMENDED_MARK = "recommended"


def ranking(scores: list[tuple[str, float, float]], recommended: str | None) -> go.Figure:
    """Each model's score on the person's data (title, LogME, seconds), best on top; the recommended one in blue and
    marked. Titles are the catalogue's, never user text."""
    titles = [title for title, _, _ in scores]
    values = [score for _, score, _ in scores]
    marked = [title == recommended for title in titles]
    spread = (max(values) - min(values)) or 1.0
    # LogME is often negative: bars drawn from zero made the worst model's bar the longest. They start below the
    # lowest score instead, so the longer bar is always the better fit; the axis keeps the true scores. At least
    # 4 ties below it: a floor just under the lowest drew -0.49, -0.51 and -0.54 (a tie for the engine) 5x apart.
    floor = min(values) - max(0.25 * spread, 4 * CLOSE_SCORES)
    fig = go.Figure(go.Bar(
        x=[v - floor for v in values], base=floor, y=titles, orientation="h",
        marker_color=[BLUE if m else GREY for m in marked],
        text=[f"{v:.2f}" + (f" · {RECOMMENDED_MARK}" if m else "") for v, m in zip(values, marked)],
        textposition="outside", cliponaxis=False, customdata=[[v, seconds] for v, (_, _, seconds) in
                                                              zip(values, scores)],
        hovertemplate="%{y}: score %{customdata[0]:.3f}<br>scored in %{customdata[1]:.1f} s<extra></extra>"))
    fig.update_layout(title="How well each model fits your data", xaxis_title="score (higher fits better)",
                      yaxis_type="category", yaxis_autorange="reversed", showlegend=False,
                      xaxis_range=[floor, max(values) + 0.36 * (max(values) - floor)])  # room for the longest's text
    return _layout(fig, 110 + 45 * len(scores), "model ranking")


# ---------------------------------------------------------------- the network as a stack of blocks

_STYLE = """
<style>
.tl-net {font-family: sans-serif; max-width: 460px; margin: 0 auto;}
.tl-block {display: flex; justify-content: space-between; align-items: center; border-radius: 8px;
  padding: 6px 12px; margin: 4px 0; font-size: 14px; border: 2px solid transparent;}
.tl-frozen {background: #eceef1; color: #6b7280; border-color: #d1d5db;}
.tl-train {background: #dbeafe; color: #1e3a8a; border-color: #2563eb; font-weight: 600;}
.tl-head {background: #dcfce7; color: #14532d; border-color: #16a34a; font-weight: 700;}
.tl-io {text-align: center; color: #4b5563; font-size: 13px; margin: 2px 0;}
.tl-count {font-weight: 400; font-size: 12px; white-space: nowrap; margin-left: 8px;}
.tl-legend {font-size: 12px; color: #4b5563; text-align: center; margin-top: 6px;}
.tl-lock {display: inline-block; position: relative; width: 11px; height: 8px; margin: 0 9px 0 2px;
  background: currentColor; border-radius: 2px; vertical-align: -1px;}
.tl-lock::before {content: ""; position: absolute; left: 1.5px; top: -6px; width: 8px; height: 7px;
  border: 2px solid currentColor; border-bottom: none; border-radius: 5px 5px 0 0; box-sizing: border-box;}
.tl-open::before {left: 5px; top: -7px;}
.tl-plus {display: inline-block; width: 14px; margin: 0 6px 0 0; font-weight: 800; text-align: center;}
</style>
"""


_LOCK = '<span class="tl-lock"></span>'      # drawn with CSS: no emoji font or SVG needed
_OPEN = '<span class="tl-lock tl-open"></span>'
_PLUS = '<span class="tl-plus">+</span>'


def network_html(blocks: list[tuple[str, int]], first_trainable: int, head_params: int, kind: str,
                 num_classes: int, scratch: bool = False) -> str:
    """The network drawn top (output) to bottom (input). Only our own strings go in: block titles and numbers."""
    rows = [f'<div class="tl-io">▲ prediction: one of {plural(int(num_classes), "class", "classes")}</div>',
            f'<div class="tl-block tl-head" data-state="head"><span>{_PLUS} New head: learns your classes</span>'
            f'<span class="tl-count">{_short(head_params)} · trains</span></div>']
    for index in range(len(blocks) - 1, -1, -1):
        title, count = blocks[index]
        trains = index >= first_trainable
        state = "trainable" if trains else "frozen"
        mark = _OPEN if trains else _LOCK
        tail = ("trains from random numbers" if scratch else "trains") if trains else "frozen"
        rows.append(f'<div class="tl-block tl-{"train" if trains else "frozen"}" data-state="{state}">'
                    f'<span>{mark} {html.escape(title)}</span><span class="tl-count">{_short(count)} · {tail}</span></div>')
    source = "your picture" if kind == "image" else "your sentence"
    rows.append(f'<div class="tl-io">▲ {source} goes in here</div>')
    legend = (f'<div class="tl-legend">{_LOCK} grey: frozen, keeps what it learned before · '
              f'{_OPEN} blue: fine-tuned on your data · {_PLUS} green: the new part</div>')
    return _STYLE + '<div class="tl-net">' + "".join(rows) + legend + "</div>"


def _short(n: int) -> str:
    if n >= 1e6:
        return f"{n / 1e6:.1f} M parameters"
    if n >= 1e3:
        return f"{n / 1e3:.0f} k parameters"
    return f"{n} parameters"


# ---------------------------------------------------------------- the layers: what they know, how far they moved

def layer_bars(names: list[str], values: list[float], colours: list[str], axis: str, hover: str,
               presenting: bool = False, ticks: bool = True) -> go.Figure:
    """One horizontal bar per block, drawn like the network: output side at the top, input side at the bottom
    (plotly puts a category axis's first name at the bottom, so the names go in input side first; reversed, the
    chart stood upside down beside the drawing). Only our own strings (block names, numbers) go in."""
    fig = go.Figure(go.Bar(x=values, y=names, orientation="h", marker_color=colours,
                           hovertemplate=f"%{{y}}: {hover}<extra></extra>"))
    fig.update_layout(yaxis_type="category", showlegend=False, font=dict(size=17 if presenting else 12))
    fig.update_xaxes(showticklabels=ticks)
    fig.update_yaxes(automargin=True)  # the block names in full, as Streamlit's theme draws them
    # The axis's name under the bars (and their numbers), ending at their right edge: as the axis title it was
    # centred under the bars alone, right of the long block names, and ran off the chart ("how well it already
    # tells your").
    below = (28 if presenting else 20) if ticks else 4
    fig.add_annotation(text=axis, xref="paper", x=1, xanchor="right", yref="paper", y=0, yanchor="top",
                       yshift=-below, showarrow=False)
    _layout(fig, (44 if presenting else 30) * len(names) + 90)
    return fig.update_layout(margin=dict(b=below + (34 if presenting else 26)))



def layer_change(changes: dict, presenting: bool = False) -> go.Figure:
    """How far each block moved while fine-tuning (1 - CKA): grey when it stayed frozen, blue when it trained."""
    colours = [BLUE if trained else GREY for trained in changes["trained"]]
    fig = layer_bars(changes["names"], [round(v, 4) for v in changes["change"]], colours,
                     "how much it changed", "changed %{x:.4f}", presenting)
    fig.update_xaxes(range=[0, max(0.001, 1.15 * max(changes["change"], default=0))])  # a small move still shows
    return fig


def layer_knowledge(names: list[str], scores: list[float], presenting: bool = False) -> go.Figure:
    """How well each block's output already tells the classes apart (LogME; higher is better)."""
    low, high = min(scores, default=0), max(scores, default=0)
    base = low - 0.15 * ((high - low) or 1)  # LogME has no natural zero: the weakest block keeps a short bar
    fig = layer_bars(names, [s - base for s in scores], [KNOWS] * len(scores),
                     "how well it already tells your classes apart", "%{customdata:.3f}", presenting, ticks=False)
    return fig.update_traces(customdata=scores)
