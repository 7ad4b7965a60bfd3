"""Figures: one signature (data first, ``ax=`` optional, the Figure returned), no pyplot
state, one colour per model across figures, titles and alt texts, units on every axis, legible
for 4 or 100 tasks, hostile names drawn as text (never mathtext)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import evalkit as ek
from evalkit.analysis.compare import compare
from evalkit.core import frames
from evalkit.present.plots import economics as eplots
from evalkit.present.plots import quality as qplots
from evalkit.present.plots import serving as splots
from evalkit.present.plots.theme import alt_text, model_colors
from tests.builders import score_row


@pytest.fixture(scope="module")
def demo():
    return ek.analyze(ek.load())


def _all_axes_labelled(fig: Figure) -> None:
    for ax in fig.axes:
        if ax.axison and ax.has_data():
            assert ax.get_xlabel() and ax.get_ylabel() or ax.get_yticklabels(), ax


def test_every_figure_is_a_titled_figure_with_alt_text_and_no_pyplot_state(demo) -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    figs = [qplots.scores(demo.comparison.frame), qplots.deltas(demo.comparison.frame),
            qplots.recovery(demo.recovery),
            splots.ttft(demo.bundle.serving.series), splots.throughput(demo.serving),
            splots.requests(demo.serving), splots.occupancy(demo.serving),
            eplots.cost_bars(demo.economics.cost),
            eplots.quality_vs_cost(demo.recovery, demo.economics.cost, baseline=demo.baseline)]
    assert plt.get_fignums() == before  # nothing left in pyplot's state
    for fig in figs:
        assert isinstance(fig, Figure)
        assert fig.get_suptitle() and alt_text(fig) != "figure"
        _all_axes_labelled(fig)
        w, h = fig.get_size_inches() * fig.dpi
        assert w <= 1400 and h <= 1600


def test_scores_and_deltas_draw_the_intervals_evalkit_computed(demo) -> None:
    c = demo.comparison.frame
    fig = qplots.scores(c, confidence=0.95)
    ax = fig.axes[0]
    assert len(ax.patches) == 2 * len(c)  # baseline and candidate per task
    assert [t.get_text() for t in ax.get_yticklabels()][0] == "arc_easy"
    fig2 = qplots.deltas(c)
    ax2 = fig2.axes[0]
    arc = c.set_index("task").loc["arc_easy"]
    assert any(np.allclose(line.get_xdata(), [100 * arc["ci_low"], 100 * arc["ci_high"]])
               for line in ax2.lines)
    xs = sorted(line.get_xdata()[0] for line in ax2.lines
                if len(line.get_xdata()) == 2 and line.get_xdata()[0] == line.get_xdata()[1])
    assert xs == pytest.approx([-2.0, 0.0])  # the −margin and zero lines
    assert "+ is better" in ax2.get_xlabel()


def test_lower_is_better_intervals_are_flipped_onto_the_improvement_axis() -> None:
    s = frames.conform("scores", [
        {**score_row("fp16", "a", "lambada", "perplexity", 4.56, stderr=0.1, n=5000),
         "higher_is_better": False},
        {**score_row("w4", "b", "lambada", "perplexity", 5.68, stderr=0.12, n=5000),
         "higher_is_better": False}])
    c = compare(s, "fp16", "w4").frame
    ax = qplots.deltas(c).axes[0]
    est = [line.get_xdata()[0] for line in ax.lines if line.get_marker() == "o"]
    assert est[0] == pytest.approx(-100 * (5.68 / 4.56 - 1))  # worse: on the negative side
    assert "% of the baseline" in ax.get_xlabel()


def test_a_hundred_tasks_stay_legible() -> None:
    rows = [score_row(m, m, f"task_{i:03d}", "acc",
                      0.7 + 0.003 * (i % 7) - (0.01 if m == "w4" else 0.0), stderr=0.02)
            for i in range(100) for m in ("fp16", "w4")]
    c = compare(frames.conform("scores", rows), "fp16", "w4").frame
    for fig in (qplots.scores(c), qplots.deltas(c)):
        w, h = fig.get_size_inches() * fig.dpi
        assert h <= 1600 and w <= 1400
        assert "largest of 100" in fig.get_suptitle()


def test_one_colour_per_model_in_every_figure(demo) -> None:
    colors = model_colors([demo.baseline, *demo.candidates])
    ax = qplots.scores(demo.comparison.frame).axes[0]
    assert tuple(ax.patches[0].get_facecolor()[:3]) == pytest.approx(colors[demo.baseline])
    line = splots.throughput(demo.serving).axes[0].lines[0]
    assert line.get_color() == colors[demo.baseline] or \
        tuple(line.get_color()) == pytest.approx(colors[demo.baseline])


def test_hostile_names_are_text_not_mathtext() -> None:
    name = "$\\frac{1}{0}$ <b>x</b>"
    s = frames.conform("scores", [score_row("fp16", "a", name, "acc", 0.8, stderr=0.02),
                                  score_row("w4", "b", name, "acc", 0.78, stderr=0.02)])
    fig = qplots.deltas(compare(s, "fp16", "w4").frame)
    fig.canvas.draw()  # mathtext would raise or render a fraction here
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert any("\\$\\frac" in t or "$\\frac" in t for t in labels)


def test_quantile_plots_say_estimate_and_partial() -> None:
    s = pd.DataFrame({"timestamp": pd.to_datetime([0, 60], unit="s", utc=True), "model": "m",
                      "metric": "ttft_p99", "value": [0.5, 0.7], "unit": "s"})
    assert "PARTIAL" not in splots.ttft(s).get_suptitle()
    title = splots.ttft(s, partial=True).get_suptitle()
    assert "PARTIAL DATA" in title and "estimate" in title


@pytest.mark.parametrize(("unit", "raw", "shown", "label"), [
    ("%", 87.0, 87.0, "%"),
    ("fraction (0-1)", 0.87, 87.0, "% (0-1 fraction × 100)"),
])
def test_gpu_axis_follows_the_unit_column(unit: str, raw: float, shown: float,
                                          label: str) -> None:
    s = pd.DataFrame({"timestamp": pd.to_datetime([0, 60], unit="s", utc=True), "model": "m",
                      "metric": "gpu_utilization", "value": [raw, raw], "unit": unit})
    ax = splots.occupancy(s).axes[1]
    assert ax.get_ylabel() == label
    assert ax.lines[0].get_ydata().tolist() == pytest.approx([shown, shown])


def test_trend_draws_each_run_with_its_interval_without_warnings() -> None:
    """One run of one task and three of another: the error bars are the trend's intervals,
    and no warning (pandas 2.2's float-of-Series FutureWarning included) is raised."""
    import warnings

    rows = []
    for i, (task, value) in enumerate([("arc_easy", 0.80), ("gsm8k", 0.70), ("gsm8k", 0.72),
                                        ("gsm8k", 0.75)]):
        metric = "acc_norm" if task == "arc_easy" else "exact_match"
        rows.append(score_row("m", f"j{i}", task, metric, value, stderr=0.02,
                              filter="none" if task == "arc_easy" else "flexible-extract",
                              completed_at=f"2026-11-2{i}T00:00:00Z"))
    scores = frames.conform("scores", rows)
    tr = ek.trend(scores)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = qplots.trend(tr.frame)
    assert alt_text(fig).startswith("Line chart") and fig.get_suptitle()
    bars = fig.axes[0].containers  # one ErrorbarContainer per (model, task)
    ys = sorted(round(float(y), 6) for c in bars for y in c.lines[0].get_ydata())
    assert ys == [70.0, 72.0, 75.0, 80.0]
    caps = sorted(round(float(y), 6) for c in bars for cap in c.lines[1] for y in cap.get_ydata())
    lo = tr.frame["ci_low"].mul(100).round(6).tolist()
    hi = tr.frame["ci_high"].mul(100).round(6).tolist()
    assert caps == sorted(lo + hi)


def test_written_out_theme_equals_seaborns() -> None:
    """The palette and style are seaborn's (colorblind; whitegrid, notebook × 0.85), written
    out so that drawing never imports seaborn (≈ 1 s of every report)."""
    import matplotlib.colors as mc
    import seaborn as sns

    from evalkit.present.plots import theme

    assert list(theme.PALETTE) == [mc.to_hex(c) for c in sns.color_palette("colorblind", 10)]
    want = {**sns.axes_style("whitegrid"), **sns.plotting_context("notebook", font_scale=0.85)}
    want.pop("image.cmap")  # seaborn's own colormap; evalkit draws no images
    assert theme.STYLE == want


def test_capacity_curves_from_registry_properties_draw_each_model() -> None:
    """Capacity from the registry's benchmark_rate_* properties (no measured request rate):
    the curves use the configured rates, say so, and keep the baseline's colour."""
    import dataclasses

    from evalkit.analysis.capacity import SLO

    bundle = dataclasses.replace(ek.load(ek.demo_path()), guidellm=None)
    a = ek.analyze(bundle, slo=SLO({"time_to_first_token_ms": ("p99", 350)}))
    fig = eplots.capacity_curves(a.economics.benchmarks, a.economics.capacity,
                                 a.economics.slo, models=[a.baseline, *a.candidates])
    ax = fig.axes[0]
    drawn = [ln for ln in ax.get_lines() if len(ln.get_xdata()) == 3]
    assert len(drawn) == 2  # one line of three rates per model
    assert sorted(drawn[0].get_xdata()) == [1.0, 8.0, 32.6]
    assert "configured rate" in ax.get_xlabel()
    from matplotlib.colors import to_rgb

    assert to_rgb(drawn[0].get_color()) == to_rgb(model_colors([a.baseline])[a.baseline])
