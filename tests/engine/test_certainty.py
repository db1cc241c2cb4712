"""How sure an accuracy is (`tl_core.certainty`): the range it likely falls in, and a caution for few examples."""
from tl_core import few_to_check, how_sure, interval, one_answer


def test_interval_matches_the_wilson_formula():
    low, high = interval(0.6, 30)
    assert (round(low, 3), round(high, 3)) == (0.423, 0.754)             # 18 of 30
    assert interval(1.0, 20)[1] == 1.0 and interval(1.0, 20)[0] > 0.8
    wide, narrow = interval(0.8, 20), interval(0.8, 2000)
    assert wide[1] - wide[0] > 5 * (narrow[1] - narrow[0])


def test_a_perfect_score_on_twelve_examples_says_how_far_it_could_be_off():
    """12 chest X-rays validated at 100 % read as a sure thing; the next 12 could score 76 %."""
    said = how_sure(1.0, 12)
    assert said.startswith("Measured on 12 validation examples: on new examples like these, expect between 76% and "
                           "100% (95% of the time).")
    assert "moves the accuracy by 8 points: add more examples" in said and few_to_check(12)


def test_enough_examples_give_the_range_without_a_caution():
    said = how_sure(0.961, 153)
    assert said == ("Measured on 153 validation examples: on new examples like these, expect between 92% and 98% "
                    "(95% of the time).") and not few_to_check(153)


def test_a_model_that_answers_one_class_for_everything_is_said_to_have_learned_nothing():
    """An SMS model trained on its head alone answered "ham" for all 60 messages: 85 %, the share of ham."""
    said = one_answer([[51, 0], [9, 0]], ["ham", "spam"])
    assert said.startswith('It answered "ham" for all 60 validation examples, so its 85% is only the share of ham '
                           "among them: it has not learned to tell the classes apart yet.")


def test_an_accuracy_no_better_than_the_commonest_class_is_said_so_and_a_better_one_is_not():
    said = one_answer([[40, 5, 5], [8, 2, 0], [9, 0, 1]], ["a", "b", "c"])   # 43 of 70 right; 50 are "a"
    assert said.startswith('Its 61% is no better than always answering "a" would score (71% of the validation '
                           "examples are a)")
    assert one_answer([[48, 2], [3, 7]], ["a", "b"]) is None                  # 55 of 60 right; 50 are "a"
    assert one_answer([[5, 5], [5, 5]], ["a", "b"]).startswith("Its 50% is no better than always answering")
    assert one_answer([[3]], ["a"]) is None and one_answer([], []) is None
