"""`transferlab`: the catalogue at once (without torch), flags that map onto RunConfig, runs listed."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from tl_core.cli import _parser
from tl_core.config import ALL, AUTO
from tl_core.models.catalog import CATALOG

from .conftest import CLI


def _cli(*args, home=None, **env) -> subprocess.CompletedProcess:
    environ = {**os.environ, **env, **({"TRANSFERLAB_HOME": str(home)} if home else {})}
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, env=environ, timeout=300)


def test_models_lists_the_catalogue(tmp_path):
    out = _cli("models", home=tmp_path, HF_HUB_CACHE=str(tmp_path / "empty-hub-cache"))
    assert out.returncode == 0, out.stderr
    table, legend = out.stdout.split("\n\n")
    assert legend.startswith("* = default for its kind.")
    rows = {line[2:].split()[0]: line for line in table.splitlines()}
    assert list(rows) == [m.name for m in CATALOG]
    for m in CATALOG:
        assert rows[m.name].startswith("* " if m.default else "  ")
        assert rows[m.name].endswith("available offline" if m.source == "embedded"
                                     else f"needs a one-time download of {m.size_mb} MB")

    out = _cli("models", "--json", home=tmp_path, HF_HUB_CACHE=str(tmp_path / "empty-hub-cache"))
    listed = [json.loads(line) for line in out.stdout.splitlines()]
    assert [m["name"] for m in listed] == [m.name for m in CATALOG]
    assert [m["available"] for m in listed] == [m.source == "embedded" for m in CATALOG]


def test_models_does_not_import_torch():
    code = ("import sys, tl_core.cli; tl_core.cli.main(['models']); "
            "assert 'torch' not in sys.modules, sorted(m for m in sys.modules if m.startswith('torch'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "efficientnet_lite0" in out.stdout


def test_unfreeze_takes_a_number_all_or_auto():
    parser = _parser()
    assert parser.parse_args(["train", "data", "--unfreeze", "all"]).unfreeze == ALL
    assert parser.parse_args(["train", "data", "--unfreeze", "auto"]).unfreeze == AUTO
    assert parser.parse_args(["train", "data", "--unfreeze", "3"]).unfreeze == 3
    out = _cli("train", "data", "--unfreeze", "most")
    assert out.returncode == 2 and "expected a number of blocks, 'all' or 'auto', not 'most'" in out.stderr


def test_train_reports_a_data_problem_in_words(tmp_path):
    out = _cli("train", str(tmp_path / "missing"), home=tmp_path)
    assert out.returncode == 1
    assert "Training failed:" in out.stdout and "does not exist" in out.stdout


def test_runs_lists_what_was_trained(image_run, warm_home):
    out = _cli("runs", "--json", home=warm_home)
    assert out.returncode == 0, out.stderr
    listed = {r["id"]: r for r in map(json.loads, out.stdout.splitlines())}
    assert listed[image_run.id]["state"] == "finished"
    assert listed[image_run.id]["accuracy"] == image_run.metrics()["accuracy"]
    assert listed[image_run.id]["model"] in {m.name for m in CATALOG}  # named; a run left to the default said ""


def test_help_lists_only_the_commands_a_person_uses():
    """The app's own commands (ranking, worker) are hidden; with help=SUPPRESS argparse printed "==SUPPRESS==" for
    each in `transferlab --help`."""
    said = _parser().format_help()
    assert "SUPPRESS" not in said and "worker" not in said and "ranking" not in said
    assert all(f"    {command} " in said for command in ("app", "train", "rank", "runs"))


def test_train_has_a_flag_for_every_setting_of_a_run():
    """The flags come from RunConfig's fields: parsing nothing but DATA gives the defaults, and each field's
    flag reaches its field (a new field needs no second copy in the CLI)."""
    from tl_core.cli_flags import config_from
    from tl_core.config import RunConfig, field_choices

    parse = lambda *flags: config_from(_parser().parse_args(["train", "photos", *flags]))  # noqa: E731
    assert parse() == RunConfig(data="photos")
    assert parse("--model", "resnet18", "--epochs", "4", "--lr", "3e-4", "--batch-size", "8", "--val-split", "0.3",
                 "--seed", "7", "--augment", "strong", "--early-stop", "2", "--time-limit", "60", "--device", "cpu",
                 "--text-column", "review", "--label-column", "1", "--label-name", "0=negative", "--name", "n") == \
        RunConfig(data="photos", model="resnet18", epochs=4, lr=3e-4, batch_size=8, val_split=0.3, seed=7,
                  augment="strong", early_stop=2, time_limit_s=60.0, device="cpu", text_column="review",
                  label_column="1", label_names={"0": "negative"}, name="n")
    assert parse("--from-scratch") == RunConfig(data="photos", from_scratch=True)
    assert field_choices("augment") == ("none", "light", "strong")
    out = _cli("train", "photos", "--from-scratch", "--unfreeze", "2")
    assert out.returncode == 2 and "not allowed with argument --from-scratch" in out.stderr
    out = _cli("train", "photos", "--augment", "heavy")
    assert out.returncode == 2 and "invalid choice: 'heavy'" in out.stderr


def test_train_auto_says_what_it_chose_and_the_run_keeps_it(warm_workspace, image_subset, capsys):
    """`--model auto --unfreeze auto --json`: the started event carries the choice; config.json keeps "auto" as
    asked, the run and model.json say what trained, and a continuation trains the same model."""
    from tl_core.cli import main
    from tl_core.resume import continue_run
    from tl_core.runs import list_runs
    from tl_core.workspace import read_json

    assert main(["train", str(image_subset), "--model", "auto", "--unfreeze", "auto", "--epochs", "1", "--json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    started = next(e for e in events if e["event"] == "started")
    assert started["chosen_model"].startswith("efficientnet_lite") and started["chosen_unfreeze"] == 0
    assert "fewer than about 50" in started["reason"] and "unfreeze 0" in started["reason"]
    run = next(r for r in list_runs() if r.config.model == "auto")
    assert (run.config.model, run.config.unfreeze) == ("auto", AUTO)
    assert run.chosen == {"model": started["chosen_model"], "unfreeze": 0, "reason": started["reason"]}
    assert read_json(run.description_file)["base_model"] == started["chosen_model"]
    again = continue_run(run.id, 1)
    assert (again.model, again.unfreeze, again.resume_from) == (started["chosen_model"], 0, run.id)


def test_train_ends_with_how_sure_its_accuracy_is(warm_workspace, image_subset, capsys):
    """The summary gives the range the validation accuracy likely falls in (a 100 % on 12 chest X-rays read as a
    sure thing); 30 validation pictures here, enough to go without the caution for fewer."""
    from tl_core import how_sure
    from tl_core.cli import main
    from tl_core.runs import list_runs

    assert main(["train", str(image_subset), "--epochs", "1", "--name", "how sure"]) == 0
    metrics = next(r for r in list_runs() if r.config.name == "how sure").metrics()
    printed = capsys.readouterr().out
    assert how_sure(metrics["accuracy"], metrics["examples"]) in printed
    assert "Measured on 30 validation examples" in printed and "add more examples" not in printed
