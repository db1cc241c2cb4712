"""The Understand step's charts: the feature maps and the learning curve.

Plotly figures drawn from what `tl_core.explain` measured; nothing here computes a number of its own.
"""
from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .charts import BLUE, GREEN, PALETTE
from .frame import plot_text

def _short(text: str, limit: int = 90) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def feature_map_figure(maps: dict, presenting: bool = False) -> go.Figure:
    """The "before" map, and beside it the "after" map when the run changed the network (not for head-only runs)."""
    before_title = ("Before: random weights (from scratch)" if maps["before"].get("start") == "random"
                    else "Before: the pretrained network")
    sides = ["before"] + (["after"] if maps.get("after") else [])
    titles = (before_title, "After: your trained model")[:len(sides)]
    fig = make_subplots(rows=1, cols=len(sides), subplot_titles=titles, horizontal_spacing=0.06)
    classes = sorted({label for side in sides for label in maps[side]["labels"]})
    for col, side in enumerate(sides, start=1):
        m = maps[side]
        names = m["names"] or [""] * len(m["x"])
        for index, label in enumerate(classes):
            rows = [i for i, lab in enumerate(m["labels"]) if lab == label]
            fig.add_scatter(x=[m["x"][i] for i in rows], y=[m["y"][i] for i in rows], mode="markers",
                            name=plot_text(label), legendgroup=plot_text(label), showlegend=col == 1,
                            marker=dict(color=PALETTE[index % len(PALETTE)], size=11 if presenting else 9,
                                        opacity=0.8, line=dict(width=0.5, color="white")),
                            customdata=[plot_text(_short(names[i])) for i in rows],
                            hovertemplate=f"%{{customdata}}<br>class: {plot_text(label)}<extra></extra>",
                            row=1, col=col)
    fig.update_xaxes(showticklabels=False, zeroline=False, title_text="")
    fig.update_yaxes(showticklabels=False, zeroline=False, title_text="")
    fig.update_layout(legend_title_text="class")
    return sized(fig, 430, "feature_map", presenting)


def learning_curve_figure(points: list[dict], run_accuracy: float | None = None,
                          presenting: bool = False) -> go.Figure:
    """Each training as a faint dot, the average with its error bars, and the run's own accuracy as a star."""
    from tl_core.explain import curve_axis, summarize

    means = [s for s in summarize(points) if s["mode"] == "head"]
    x, axis = curve_axis(points)
    unit = "per class" if x == "examples_per_class" else "examples"
    heads = [p for p in points if p["mode"] == "head"]
    fig = go.Figure()
    fig.add_scatter(x=[p[x] for p in heads], y=[100 * p["val_accuracy"] for p in heads],
                    mode="markers", name="one training (random share)",
                    marker=dict(color=BLUE, size=12 if presenting else 10, opacity=0.45),
                    customdata=[p["seed"] + 1 for p in heads],
                    hovertemplate=f"%{{x}} {unit}, draw %{{customdata}}: %{{y:.0f}}% correct<extra></extra>")
    fig.add_scatter(x=[s[x] for s in means], y=[100 * s["mean"] for s in means],
                    mode="lines+markers", name="average (bars: how far chance can move it)",
                    line=dict(color=GREEN, width=3), marker=dict(size=8),
                    error_y=dict(type="data", symmetric=False, color=GREEN, thickness=1.5, width=6,
                                 array=[100 * (s["high"] - s["mean"]) for s in means],
                                 arrayminus=[100 * (s["mean"] - s["low"]) for s in means]),
                    customdata=[[100 * s["low"], 100 * s["high"]] for s in means],
                    hovertemplate=f"%{{x}} {unit}: %{{y:.0f}}% correct on average "
                                  "(could be %{customdata[0]:.0f}% to %{customdata[1]:.0f}%)<extra></extra>")
    if run_accuracy is not None and means:
        fig.add_scatter(x=[means[-1][x]], y=[100 * run_accuracy], mode="markers",
                        name="your run (its own training)",
                        marker=dict(symbol="star", color="#dc2626", size=18 if presenting else 15,
                                    line=dict(width=1, color="white")),
                        hovertemplate="your run: %{y:.0f}% correct<extra></extra>")
    fig.update_layout(xaxis_title=axis, yaxis_title="% correct on validation",
                      yaxis_range=[0, 102], xaxis_rangemode="tozero")
    return sized(fig, 400, "learning_curve", presenting)


def sized(fig: go.Figure, height: int, revision: str, presenting: bool) -> go.Figure:
    """One look for every chart of the step: taller with larger type when presenting, the legend below."""
    fig.update_layout(height=int(height * 1.25) if presenting else height, uirevision=revision,
                      margin=dict(l=10, r=10, t=40, b=40), font=dict(size=17 if presenting else 13),
                      legend=dict(orientation="h", yanchor="top", y=-0.2, x=0))
    return fig
