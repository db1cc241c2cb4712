"""`predict(run_or_export, inputs) -> top-k (label, probability)`, with the preprocessing training used."""
from __future__ import annotations

import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch

from .checkpoint import DESCRIPTION, Trained, is_trained_model, load_trained
from .inputs import eval_geometry, normalize, tokenize, trim


@dataclass
class Predictor:
    trained: Trained

    @classmethod
    def load(cls, source: str | Path) -> "Predictor":
        """A run id, a run folder, an export folder or an export zip."""
        return cls(load_trained(resolve_model_folder(source)))

    @property
    def kind(self) -> str:
        return self.trained.kind

    @property
    def classes(self) -> list[str]:
        return self.trained.classes

    @torch.no_grad()
    def probabilities(self, inputs: list) -> torch.Tensor:
        """(N, C) class probabilities; images as paths, bytes or PIL images, texts as strings."""
        model = self.trained.model
        if self.kind == "text":
            tokens = tokenize([str(t) for t in inputs], self.trained.tokenizer, self.trained.preprocess.max_length)
            logits = model(*trim(tokens.ids, tokens.mask))
        else:
            logits = model(normalize(self.image_batch(inputs), self.trained.preprocess))
        return logits.float().softmax(1)

    def image_batch(self, inputs: list) -> torch.Tensor:
        """uint8 (N, 3, H, W): decoded and cropped exactly as for training."""
        import numpy as np
        from PIL import Image

        from .data import read_image

        preprocessing = self.trained.preprocess
        geometry = eval_geometry(preprocessing)
        images = [x.convert("RGB") if isinstance(x, Image.Image) else read_image(x, draft_size=preprocessing.draft_size)
                  for x in inputs]
        return torch.stack([torch.from_numpy(np.array(geometry(im), dtype=np.uint8)).permute(2, 0, 1)
                            for im in images])

    def predict(self, inputs: list, top_k: int = 3) -> list[list[tuple[str, float]]]:
        probs = self.probabilities(inputs)
        k = min(top_k, len(self.classes))
        values, indices = probs.topk(k, dim=1)
        return [[(self.classes[i], float(v)) for v, i in zip(vs.tolist(), ix.tolist())]
                for vs, ix in zip(values, indices)]


def predict(run_or_export: str | Path, inputs: list, top_k: int = 3) -> list[list[tuple[str, float]]]:
    return Predictor.load(run_or_export).predict(inputs, top_k)


def resolve_model_folder(source: str | Path) -> Path:
    path = Path(source).expanduser()
    if path.is_dir() and is_trained_model(path):
        return path
    if path.is_file() and zipfile.is_zipfile(path):
        target = Path(tempfile.mkdtemp(prefix="transferlab-model-"))
        with zipfile.ZipFile(path) as zf:
            for member in zf.namelist():  # our own export layout only: a flat folder of known files
                if member.startswith("/") or ".." in Path(member).parts:
                    raise ValueError(f"{path.name} is not a TransferLab export (unsafe path {member}).")
            zf.extractall(target)
        found = [p.parent for p in target.rglob(DESCRIPTION) if is_trained_model(p.parent)]
        if found:
            return found[0]
        raise ValueError(f"{path.name} is not a TransferLab export (no {DESCRIPTION} inside).")
    from .runs import get_run

    run = get_run(str(source))
    if not run.has_model():
        raise ValueError(f"Run {run.id} has no trained model yet.")
    return run.dir
