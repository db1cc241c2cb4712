"""A table's labels renamed ("0" -> "negative"): the trained model's classes ARE the names, everywhere after."""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from tl_core.config import RunConfig
from tl_core.data import DataError, load_dataset, rename_labels

from .conftest import CLI


def test_a_run_with_label_names_trains_classes_named_so(warm_workspace, yelp_subset):
    """`transferlab train --label-name` -> config.json -> the trained model, its metrics, predictions and export."""
    from tl_core.export import export_run
    from tl_core.predictor import predict
    from tl_core.runs import list_runs

    out = subprocess.run([str(CLI), "train", str(yelp_subset), "--epochs", "1", "--name", "named labels",
                          "--label-name", "0=negative", "--label-name", "1=positive"],
                         capture_output=True, text=True, env=os.environ, timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]

    run = next(r for r in list_runs() if r.config.name == "named labels")
    assert run.config.label_names == {"0": "negative", "1": "positive"}
    assert json.loads((run.dir / "model.json").read_text())["classes"] == ["negative", "positive"]
    metrics = run.metrics()
    assert metrics["classes"] == ["negative", "positive"]
    assert set(metrics["per_class"]) == {"negative", "positive"}
    assert {m["true"] for m in metrics.get("mistakes", [])} <= {"negative", "positive"}
    top = predict(run.id, ["The food was wonderful and the staff were lovely."], top_k=2)[0]
    assert {name for name, _ in top} == {"negative", "positive"}
    exported = export_run(run, as_zip=False, onnx=False)
    assert json.loads((exported / "labels.json").read_text()) == ["negative", "positive"]
    assert "`negative`, `positive`" in (exported / "README.md").read_text()


def test_renaming_keeps_every_example_and_unnamed_labels(yelp_subset):
    data = load_dataset(yelp_subset)
    named = rename_labels(data, {"1": "positive"})
    assert named.classes == ["0", "positive"]
    assert [e.label for e in named.examples] == [{"1": "positive"}.get(e.label, e.label) for e in data.examples]
    assert [e.text for e in named.examples] == [e.text for e in data.examples]


@pytest.mark.parametrize("names, says", [
    ({"2": "maybe"}, "The data has no class '2' to rename; its classes are '0', '1'."),
    ({"0": "  "}, "The new name for class '0' is empty"),
    ({"0": "good", "1": "good"}, "Two classes would both be called 'good'"),
    ({"0": "1"}, "Two classes would both be called '1'"),
])
def test_names_that_would_lose_or_merge_classes_are_refused_in_words(yelp_subset, names, says):
    with pytest.raises(DataError, match=says.replace("(", r"\(").replace(".", r"\.")):
        rename_labels(load_dataset(yelp_subset), names)


def test_label_names_survive_the_config_file(tmp_path):
    config = RunConfig(data="reviews.tsv", label_names={"0": "negative", "1": "positive"})
    (tmp_path / "config.json").write_text(config.to_json())
    assert RunConfig.load(tmp_path / "config.json").label_names == {"0": "negative", "1": "positive"}


def test_the_cli_flag_takes_label_equals_name(capsys):
    from tl_core.cli import _parser

    args = _parser().parse_args(["train", "t.tsv", "--label-name", "0=very negative", "--label-name", "1=a=b"])
    assert dict(args.label_name) == {"0": "very negative", "1": "a=b"}
    with pytest.raises(SystemExit):
        _parser().parse_args(["train", "t.tsv", "--label-name", "negative"])
    assert "expected LABEL=NAME, e.g. 0=negative, not 'negative'" in capsys.readouterr().err
