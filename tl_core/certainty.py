"""How sure an accuracy is: the range it likely falls in, from how many validation examples measured it.

    interval(0.8, 120)      # (0.72, 0.86): the 95 % Wilson score interval
    how_sure(1.0, 12)       # "Measured on 12 validation examples: on new examples like these, expect between ..."
    one_answer([[51, 0], [9, 0]], ["ham", "spam"])   # "It answered "ham" for all 60 validation examples, ..."

No torch here: the app's pages call it for every finished run.
"""
from __future__ import annotations

import math

Z = 1.96  # 95 % intervals
# Below this many validation examples an accuracy gets a caution: at 30, one example is 3 points and a 100 % reads
# "between 89 % and 100 %". A chest X-ray run on 60 pictures validated on 12 and read 100 %, with nothing saying that
# the next 12 could score 76 % (the dataset's README expects under 80 %).
SURE_FROM = 30


def interval(accuracy: float, examples: int) -> tuple[float, float]:
    """95 % Wilson score interval of an accuracy measured on `examples` examples."""
    if examples <= 0:
        return 0.0, 1.0
    centre = (accuracy + Z * Z / (2 * examples)) / (1 + Z * Z / examples)
    half = Z / (1 + Z * Z / examples) * math.sqrt(accuracy * (1 - accuracy) / examples + Z * Z / (4 * examples ** 2))
    return max(0.0, centre - half), min(1.0, centre + half)


def few_to_check(examples: int) -> bool:
    """Whether an accuracy measured on this many validation examples needs a caution (`how_sure`)."""
    return examples < SURE_FROM


def how_sure(accuracy: float, examples: int) -> str:
    """The range the accuracy on new examples like the validation ones likely falls in, as a sentence; with fewer
    than SURE_FROM of them, what one example is worth and what to do about it."""
    from .data.examples import plural

    low, high = interval(accuracy, examples)
    said = (f"Measured on {plural(examples, 'validation example')}: on new examples like these, expect between "
            f"{low:.0%} and {high:.0%} (95% of the time).")
    if few_to_check(examples):
        said += (f" With so few, each one right or wrong moves the accuracy by {100 / max(examples, 1):.0f} points: "
                 f"add more examples for a number you can rely on.")
    return said


def one_answer(confusion: list[list[int]], classes: list[str]) -> str | None:
    """A sentence when an accuracy is no better than always answering the most common class (rows of `confusion` are
    true classes, columns predictions); None when it is. A text model trained on its head alone answered "ham" for
    every SMS and read 85 %, the share of ham, with nothing on the page saying it had learned nothing."""
    examples = sum(map(sum, confusion))
    if len(classes) < 2 or not examples:
        return None
    right = sum(confusion[i][i] for i in range(len(classes)))
    common = max(range(len(classes)), key=lambda i: sum(confusion[i]))
    share = sum(confusion[common]) / examples
    if right > sum(confusion[common]):
        return None
    answered = [i for i in range(len(classes)) if any(row[i] for row in confusion)]
    if len(answered) == 1:
        said = (f'It answered "{classes[answered[0]]}" for all {examples} validation examples, so its '
                f"{right / examples:.0%} is only the share of {classes[answered[0]]} among them")
    else:
        said = (f'Its {right / examples:.0%} is no better than always answering "{classes[common]}" would score '
                f"({share:.0%} of the validation examples are {classes[common]})")
    return (f"{said}: it has not learned to tell the classes apart yet. Train more epochs or fine-tune more of its "
            f"layers, and add examples of the classes it misses.")
