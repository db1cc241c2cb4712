"""The PyTorch "transfer learning for computer vision" tutorial recipe, written plainly: the baseline.

torchvision ImageFolder + DataLoader (2 workers), RandomResizedCrop + flip for training, Resize(256) +
CenterCrop(224) for validation, SGD lr 0.001 momentum 0.9, StepLR(7, 0.1), batch 4. Every JPEG is decoded
and the whole network runs every epoch, in float32, as the tutorial does. The network is timm's
EfficientNet-Lite0 (or `--model`) with the weights TransferLab embeds (loaded through `tl_core.models.load_model`,
so the engine and this script start from identical weights), normalised with that model's own mean/std; a model
whose input is larger than 224 px (Lite1 240, Lite2 260) gets its own crop, resized in the tutorial's 256:224 ratio.

    .venv/bin/python bench/tutorial_recipe.py DATA --mode head|full|scratch [--epochs 8 | --quick]
    .venv/bin/python bench/tutorial_recipe.py --split SPLIT.json --mode full --time-limit 120

DATA is a folder with train/<class>/ and val/<class>/. `--split` instead reads the engine's own split (written by
bench/quality.py from `tl_core.open_run_data`): {"classes": [...], "train": [[path, label], ...], "val": [...]},
so both train and validate on exactly the same pictures. `--time-limit S` stops training S seconds after the recipe
started (imports done, as the engine's time limit counts from `train()`) and scores the epoch under way.

Prints one JSON line per epoch, in the engine's event shape: {"event": "epoch", "epoch", "val_accuracy",
"elapsed_s", "train_samples_per_s", "partial", ...}, then {"event": "finished", "best_val_accuracy", ...}.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

STARTED = time.time()

import torch  # noqa: E402
from PIL import Image  # noqa: E402
from torch import nn  # noqa: E402
from torchvision import datasets, transforms  # noqa: E402

from harness import Epochs  # noqa: E402  (bench/ is on sys.path)
from tl_core.models import load_model  # noqa: E402


class SplitImages(torch.utils.data.Dataset):
    """(path, label) pairs from a split file, read as ImageFolder reads them (PIL, converted to RGB)."""

    def __init__(self, pairs: list[list[str]], classes: list[str], transform):
        self.items = [(path, classes.index(label)) for path, label in pairs]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        path, label = self.items[i]
        with Image.open(path) as image:
            return self.transform(image.convert("RGB")), label


def class_names(args) -> list[str]:
    """The classes, read before the model is made (its head needs their count): the split file's, or train/'s."""
    if args.split:
        return json.loads(Path(args.split).read_text())["classes"]
    return datasets.ImageFolder(str(Path(args.data) / "train")).classes


def image_sets(args, tf: dict) -> dict:
    """{"train": dataset, "val": dataset}: from the split file, else the train/ and val/ folders."""
    if args.split:
        split = json.loads(Path(args.split).read_text())
        return {x: SplitImages(split[x], split["classes"], tf[x]) for x in ("train", "val")}
    return {x: datasets.ImageFolder(str(Path(args.data) / x), tf[x]) for x in ("train", "val")}


def transforms_for(preprocess) -> dict:
    crop = max(224, preprocess.input_size[-1])  # the tutorial's 224, or the model's own larger input
    normalise = transforms.Normalize(preprocess.mean, preprocess.std)
    return {
        "train": transforms.Compose([transforms.RandomResizedCrop(crop), transforms.RandomHorizontalFlip(),
                                     transforms.ToTensor(), normalise]),
        "val": transforms.Compose([transforms.Resize(round(crop * 256 / 224)), transforms.CenterCrop(crop),
                                   transforms.ToTensor(), normalise]),
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", nargs="?", help="a folder with train/<class>/ and val/<class>/ (or give --split)")
    parser.add_argument("--split", help="a JSON split file: classes, train and val [path, label] pairs")
    parser.add_argument("--model", default="", help="catalogue name (default: the embedded image model)")
    parser.add_argument("--mode", choices=("head", "full", "scratch"), default="head")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="2 epochs: a smoke check")
    parser.add_argument("--time-limit", type=float, default=0.0, help="seconds of training before it stops; 0 = none")
    parser.add_argument("--batch-size", type=int, default=4)   # the tutorial's
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not (args.data or args.split):
        parser.error("give DATA (a folder with train/ and val/) or --split FILE")
    if args.quick:
        args.epochs = 2
    return args


def main() -> None:
    args = parse_args()
    begun = time.time()
    torch.manual_seed(args.seed)
    backbone = load_model(args.model, "image", len(class_names(args)), pretrained=args.mode != "scratch")
    model = backbone.model
    sets = image_sets(args, transforms_for(backbone.preprocess))
    loaders = {x: torch.utils.data.DataLoader(sets[x], batch_size=args.batch_size, shuffle=x == "train",
                                              num_workers=args.workers)
               for x in ("train", "val")}
    if args.mode == "head":  # "ConvNet as fixed feature extractor": only the new classifier learns
        for p in model.parameters():
            p.requires_grad = False
        for p in model.get_classifier().parameters():
            p.requires_grad = True
    out_of_time = lambda: bool(args.time_limit) and time.time() - begun >= args.time_limit  # noqa: E731
    fit(model, loaders, args.epochs, out_of_time)


def fit(model: nn.Module, loaders: dict, epochs: int, out_of_time) -> None:
    """The tutorial's loop; a time limit ends training mid-epoch, and that epoch is still scored."""
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.001, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=7, gamma=0.1)
    report = Epochs(STARTED)
    for epoch in range(1, epochs + 1):
        model.train()
        t0, seen, running_loss, partial = time.time(), 0, 0.0, False
        for inputs, labels in loaders["train"]:
            optimizer.zero_grad()
            loss = criterion(model(inputs), labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item() * inputs.size(0)
            seen += inputs.size(0)
            if out_of_time():
                partial = seen < len(loaders["train"].dataset)
                break
        scheduler.step()
        train_s = time.time() - t0

        model.eval()
        correct, total = 0, 0
        with torch.no_grad():
            for inputs, labels in loaders["val"]:
                correct += int((model(inputs).argmax(1) == labels).sum())
                total += labels.size(0)
        report.scored(epoch, correct / total, running_loss, seen, train_s, partial)
        if out_of_time():
            break
    report.finished()

if __name__ == "__main__":
    main()
