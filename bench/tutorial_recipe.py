"""The PyTorch "transfer learning for computer vision" tutorial recipe, written plainly: the baseline.

torchvision ImageFolder + DataLoader (2 workers), RandomResizedCrop + flip for training, Resize(256) +
CenterCrop(224) for validation, SGD lr 0.001 momentum 0.9, StepLR(7, 0.1), batch 4. Every JPEG is decoded
and the whole network runs every epoch, in float32, as the tutorial does. The network is timm's
EfficientNet-Lite0 with the weights TransferLab embeds (loaded through `tl_core.models.load_model`, so the
engine and this script start from identical weights), normalised with that model's own mean/std.

    .venv/bin/python bench/tutorial_recipe.py DATA --mode head|full|scratch [--epochs 8 | --quick]

Prints one JSON line per epoch, in the engine's event shape: {"event": "epoch", "epoch", "val_accuracy",
"elapsed_s", "train_samples_per_s", ...}, then {"event": "finished", "best_val_accuracy", ...}.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

STARTED = time.time()

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torchvision import datasets, transforms  # noqa: E402

from harness import emit_timed  # noqa: E402  (bench/ is on sys.path)
from tl_core.models import load_model  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", help="a folder with train/<class>/ and val/<class>/")
    parser.add_argument("--mode", choices=("head", "full", "scratch"), default="head")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="2 epochs: a smoke check")
    parser.add_argument("--batch-size", type=int, default=4)   # the tutorial's
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.quick:
        args.epochs = 2
    torch.manual_seed(args.seed)

    backbone = load_model("", "image", 2, pretrained=args.mode != "scratch")
    model = backbone.model
    mean, std = backbone.preprocess.mean, backbone.preprocess.std
    tf = {
        "train": transforms.Compose([transforms.RandomResizedCrop(224), transforms.RandomHorizontalFlip(),
                                     transforms.ToTensor(), transforms.Normalize(mean, std)]),
        "val": transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224),
                                   transforms.ToTensor(), transforms.Normalize(mean, std)]),
    }
    image_sets = {x: datasets.ImageFolder(str(Path(args.data) / x), tf[x]) for x in ("train", "val")}
    loaders = {x: torch.utils.data.DataLoader(image_sets[x], batch_size=args.batch_size, shuffle=x == "train",
                                              num_workers=args.workers)
               for x in ("train", "val")}

    if args.mode == "head":  # "ConvNet as fixed feature extractor": only the new classifier learns
        for p in model.parameters():
            p.requires_grad = False
        for p in model.get_classifier().parameters():
            p.requires_grad = True
    params = [p for p in model.parameters() if p.requires_grad]
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(params, lr=0.001, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=7, gamma=0.1)

    best_acc, best_epoch = -1.0, 0
    for epoch in range(1, args.epochs + 1):
        model.train()
        t0, seen, running_loss = time.time(), 0, 0.0
        for inputs, labels in loaders["train"]:
            optimizer.zero_grad()
            loss = criterion(model(inputs), labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item() * inputs.size(0)
            seen += inputs.size(0)
        scheduler.step()
        train_s = time.time() - t0

        model.eval()
        correct, total = 0, 0
        with torch.no_grad():
            for inputs, labels in loaders["val"]:
                correct += int((model(inputs).argmax(1) == labels).sum())
                total += labels.size(0)
        acc = correct / total
        if acc > best_acc:
            best_acc, best_epoch = acc, epoch
        emit_timed(event="epoch", epoch=epoch, train_loss=running_loss / seen, val_accuracy=acc,
              train_samples_per_s=seen / train_s, elapsed_s=time.time() - STARTED)
    emit_timed(event="finished", best_epoch=best_epoch, best_val_accuracy=best_acc, elapsed_s=time.time() - STARTED)


if __name__ == "__main__":
    main()
