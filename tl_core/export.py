"""Take the model away: a self-contained folder or zip that reloads without TransferLab's workspace."""
from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from .checkpoint import load_trained
from .config import what_trains
from .data.examples import plural
from .events import kept_epoch
from .models.preprocessing import Preprocessing
from .run_files import CONFIG, DESCRIPTION, ENCODER, METRICS, TOKENIZER, WEIGHTS
from .runs import Run
from .workspace import read_json, write_atomic, write_json

CARRIED = (WEIGHTS, DESCRIPTION, TOKENIZER, ENCODER, METRICS)


def export_run(run: Run, dest: Path | None = None, as_zip: bool = True, onnx: bool = True) -> Path:
    if not run.has_model():
        raise ValueError(f"Run {run.id} has no trained model to export yet.")
    folder = Path(dest) if dest else run.export_folder
    if as_zip and folder.suffix == ".zip":
        folder = folder.with_suffix("")
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name in CARRIED:
        source = run.dir / name
        if source.is_dir():
            shutil.copytree(source, folder / name)
        elif source.exists():
            shutil.copy2(source, folder / name)
    description = read_json(run.dir / DESCRIPTION)
    write_json(folder / "labels.json", description["classes"])
    write_json(folder / CONFIG, read_json(run.dir / CONFIG))
    if onnx and description["kind"] == "image":
        export_onnx(folder)
    write_atomic(folder / "README.md", model_card(run, description))
    if not as_zip:
        return folder
    archive = folder.with_suffix(".zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, Path(folder.name) / path.relative_to(folder))
    shutil.rmtree(folder)
    return archive


def export_onnx(folder: Path) -> Path:
    """model.onnx takes normalised float images (N, 3, H, W) and returns logits, as README.md explains."""
    import torch

    from .runtime import export_onnx

    trained = load_trained(folder)
    path = folder / "model.onnx"
    if not export_onnx(trained.model, torch.randn(1, *trained.preprocess.input_size), path, ("image", "logits")):
        raise ValueError(f"{trained.arch} cannot be exported to ONNX; export without ONNX (the safetensors "
                         "weights are complete).")
    return path


def model_card(run: Run, description: dict) -> str:
    metrics = run.metrics() or {}
    config, chosen = run.trained_config, run.chosen  # an automatic model or block count: what the run chose
    pre = Preprocessing.from_dict(description["preprocess"])
    lines = [
        f"# {config.name or 'TransferLab model'} ({run.id})", "",
        f"A {description['kind']} classifier fine-tuned with TransferLab from **{description['base_model']}** "
        f"(architecture `{description['arch']}`).", "",
        "## What it predicts", "", ", ".join(f"`{c}`" for c in description["classes"]), "",
        "## How it was trained", "",
        f"- data: `{config.data}`",
        f"- started from: {'random weights' if config.from_scratch else 'the pretrained weights'}",
        f"- what trained: {what_trains(config.unfreeze, config.from_scratch)}",
        *([f"- chosen by TransferLab: {chosen['reason']}"] if chosen and chosen["reason"] else []),
        f"- epochs: {config.epochs or 'automatic'}, learning rate: {config.lr or 'automatic'}, batch size: "
        f"{config.batch_size or 'automatic'}, augmentation: {config.augment}, seed: {config.seed}", "",
        "## How good it is (validation set)", "",
        f"- accuracy: {metrics.get('accuracy', 0):.1%} on {plural(metrics.get('examples', 0), 'example')} "
        f"(kept: {kept_epoch(metrics.get('best_epoch', 0))})",
    ]
    for name, m in metrics.get("per_class", {}).items():
        lines.append(f"- `{name}`: precision {m['precision']:.1%}, recall {m['recall']:.1%}, "
                     f"F1 {m['f1']:.1%}, {plural(m['support'], 'example')}")
    lines += ["", "## Files", "",
              f"- `{WEIGHTS}`: the weights (safetensors); `{DESCRIPTION}`: architecture, classes, preprocessing",
              f"- `labels.json`: class names in output order; `{CONFIG}`: the training settings",
              "", "## Use it", "", "With TransferLab installed:", "", "```", f"transferlab predict transferlab-{run.id}.zip INPUT...",
              "```", "", "```python", "from tl_core import predict",
              "print(predict('path/to/this/folder', ['photo.jpg']))", "```"]
    if description["kind"] == "image":
        lines += ["", f"`model.onnx` takes float images of shape (N, 3, {pre.input_size[1]}, "
                  f"{pre.input_size[2]}): resize the short side to "
                  f"{int(pre.input_size[1] / (pre.crop_pct or 1))} px ({pre.interpolation}), "
                  f"center-crop, scale to 0..1, subtract mean {list(pre.mean)} and divide by std {list(pre.std)}. "
                  "It returns logits; softmax gives probabilities in `labels.json` order."]
    return "\n".join(lines) + "\n"
