"""The ranking as the pages word and draw it (pages/common/ranking.py, charts.ranking), on records shaped as
`tl_core.ranking_status` returns them; the pages themselves are tested on a real ranking in test_model_page.py and
test_train_page.py."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

import tl_core
from pages.common import charts, ranking
from tl_core.ranking import Layers, Ranking, Recommended, ScoreRow

BLOCKS = ["Stem", "Block 1", "Block 2", "Block 3", "Block 4", "Block 5", "Block 6", "Block 7"]
PEAK = "The score peaks at Block 5 and falls after it: the last 2 blocks learned things specific to ..."


def done(model: str = "efficientnet_lite1", unfreeze: int = 2) -> Ranking:
    """A finished ranking where all three scores are negative (LogME often is), Lite1 best."""
    scores = [ScoreRow("efficientnet_lite1", "EfficientNet-Lite1", -0.05, 9.0),
              ScoreRow("efficientnet_lite2", "EfficientNet-Lite2", -0.06, 11.0),
              ScoreRow("efficientnet_lite0", "EfficientNet-Lite0", -0.41, 7.0)]
    chosen = Recommended(model, unfreeze, 0.3, "Your pictures look somewhat like ...", "...", "Lite1 fits ...", PEAK,
                         True)
    return Ranking("done", "", scores, chosen, Layers(model, BLOCKS, [0.0] * 8, unfreeze, PEAK))


def pictures(per_class: int) -> SimpleNamespace:
    """Data as the Train page holds it: examples with labels, and the classes."""
    examples = [SimpleNamespace(label=c) for c in ("ants", "bees") for _ in range(per_class)]
    return SimpleNamespace(examples=examples, classes=["ants", "bees"])


def test_the_longer_bar_is_the_better_score_even_when_every_score_is_negative():
    found = done()
    fig = charts.ranking([(s.title, s.score, s.seconds) for s in found.scores], "EfficientNet-Lite1")
    bar = fig.data[0]
    assert list(bar.y) == ["EfficientNet-Lite1", "EfficientNet-Lite2", "EfficientNet-Lite0"]
    assert list(bar.x) == sorted(bar.x, reverse=True) and min(bar.x) > 0  # the best is the longest
    assert [bar.base + x for x in bar.x] == pytest.approx([-0.05, -0.06, -0.41])  # the axis says the true score
    assert fig.layout.yaxis.autorange == "reversed"  # the first row, the best, on top
    assert [charts.RECOMMENDED_MARK in t for t in bar.text] == [True, False, False]
    assert bar.text[0].startswith("-0.05")
    close = charts.ranking([("A", -0.49, 1.0), ("B", -0.51, 1.0), ("C", -0.54, 1.0)], "A").data[0]
    assert list(close.x) == sorted(close.x, reverse=True) and close.x[0] < 1.3 * close.x[2]  # a tie looks like one


def test_the_proposal_is_what_training_will_choose():
    found = done()
    assert ranking.proposal(found, tl_core.AUTO_MODEL, pictures(60)) == (2, PEAK)
    assert ranking.proposal(found, "efficientnet_lite1", pictures(60)) == (2, PEAK)
    assert ranking.proposal(found, "efficientnet_lite0", pictures(60)) is None  # its blocks were not scored
    assert ranking.proposal(Ranking("running"), tl_core.AUTO_MODEL, pictures(60)) is None
    few, why = ranking.proposal(found, "efficientnet_lite1", pictures(20))  # few pictures: head only, scores or not
    assert (few, why) == (0, tl_core.few_examples(20)) and "fewer than about 50" in why
    assert ranking.proposal(None, "efficientnet_lite0", pictures(20))[0] == 0
    assert ranking.proposal_words((2, PEAK), 8).startswith("**TransferLab proposes: the last 2 blocks** — The score")
    assert ranking.proposal_words((-1, PEAK), 8).startswith("**TransferLab proposes: all blocks**")


def test_the_per_block_caption_agrees_with_the_proposal():
    """Scores that propose blocks, with too few pictures to follow them: the caption says both, in that order."""
    from pages.common.layers import knowledge_words

    layers = done().layers
    assert knowledge_words(layers, 60) == PEAK
    assert knowledge_words(layers, 20) == f"On the scores alone, t{PEAK[1:]} However, your smallest class has 20 " \
        "examples, fewer than about 50: with so few, fine-tuning blocks tends to overfit and training only the new " \
        "head usually does best."
    head_only = Layers(layers.model, BLOCKS, layers.scores, 0, "The score climbs to the last block.")
    assert knowledge_words(head_only, 20) == f"The score climbs to the last block. {tl_core.few_examples(20)}"


def test_the_meter_fills_as_far_as_its_sentence_says():
    """Each of the engine's three relatedness sentences has its own fill."""
    from tl_core.select import relatedness_sentence

    fills = []
    for gap in (0.9, 0.4, 0.0):
        sentence = relatedness_sentence(gap)
        fills.append(next(share for said, share, _ in ranking.LEVELS if said in sentence))
    assert fills == sorted(fills, reverse=True) and len(set(fills)) == 3


def test_the_pages_re_read_the_ranking_without_re_reading_the_data(home, monkeypatch):
    """The fragment that follows a running ranking re-reads it every second with the stamp its page took: the
    engine reads the project's files once, not at every redraw."""
    import tl_core.ranking as engine_ranking
    from apphelpers import add_photos, make_project

    project = make_project(home, model="auto", settings={})
    add_photos(home, project, per_class=3)
    reads, load = [], engine_ranking.load_dataset
    monkeypatch.setattr(engine_ranking, "load_dataset", lambda *args, **kw: reads.append(args[0]) or load(*args, **kw))
    drawn = []
    stamp = ranking.stamp(project)
    for _ in range(3):
        ranking._follow(project, drawn.append, False, stamp)  # what each second's redraw does
    assert drawn == [None] * 3 and len(reads) == 1


@pytest.mark.parametrize("scored, of, kind, said", [
    (149, 398, "image", "measured on 149 of your 398 pictures (every class keeping its share) before any training"),
    (40, 40, "text", "measured on all 40 of your texts before any training"),
    (0, 0, "image", "measured on a sample of your data before any training")])  # a record still drawing its sample
def test_the_caption_says_how_many_examples_the_scores_saw(scored, of, kind, said):
    found = done()
    found.scored, found.of = scored, of
    assert said in ranking.what_the_score_is(found, kind)


def test_a_stretched_change_axis_says_so():
    """Block 7 moved 0.0004 of the 0-to-1 scale the caption gives; its bar filled an axis ending at 0.0005."""
    from pages.common.layers import stretched

    assert stretched(0.0004) == (" The axis is stretched so that small changes show: the largest here is less than "
                                 "0.001, a small move on that scale.")
    assert stretched(0.02).startswith(" The axis is stretched") and "0.020" in stretched(0.02)
    assert stretched(0.4) == ""
