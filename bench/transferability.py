"""LogME against a 5-fold linear probe on the suite: each available model's score, its time, and which ranks alike.

Not bench/select.py, as issue 15 names it: with bench/ on sys.path that file shadows the standard library's `select`,
which `subprocess` imports.

    .venv/bin/python bench/transferability.py                                  # every suite dataset, 100 per class
    .venv/bin/python bench/transferability.py --only hymenoptera_data,plant_tomato --per-class 100

Candidates per dataset: every model available offline for the data's kind, with pretrained and with random
weights (so a ranking has something to rank). For each, the frozen features' LogME (`tl_core.select`), the
engine's linear probe's 5-fold accuracy on the same features (`transferability.probe_accuracy`, a stand-in
for head-only accuracy), the seconds each took, and per dataset Kendall's tau between the two orders. Also the
relatedness gap and the per-layer curve of the best model. Caches go to a throw-away TRANSFERLAB_HOME unless set.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

from harness import SHARED, emit, log

SUITE = {"hymenoptera_data": "hymenoptera_data", "plant_tomato": "plant_tomato", "cats_dogs": "cats_dogs",
         "chest_xray_nih": "chest_xray_nih", "yelp": "sentences/yelp_labelled.txt",
         "sms_spam": "sentences/sms_spam.tsv", "ag_news": "sentences/ag_news.tsv"}


def score_dataset(name: str, per_class: int) -> None:
    from scipy.stats import kendalltau

    from tl_core import catalog
    from tl_core.select import layer_scores, pooled_features, relatedness, sample_data
    from tl_core.transferability import logme, probe_accuracy, reduce_dims

    start = time.perf_counter()
    sample = sample_data(str(SHARED / SUITE[name]), at_most=10**9)
    sample = sample_data(str(SHARED / SUITE[name]), at_most=per_class * len(sample.classes))
    log(f"{name}: {len(sample.examples)} examples, {len(sample.classes)} classes ({time.perf_counter() - start:.1f}s)")
    rows = []
    for model in [m.name for m in catalog(sample.kind) if m.available]:
        for pretrained in (True, False):
            t0 = time.perf_counter()
            feats, labels = pooled_features(model, sample, pretrained)
            t1 = time.perf_counter()
            score = logme(reduce_dims(feats), labels)
            t2 = time.perf_counter()
            probe = probe_accuracy(feats, labels)
            t3 = time.perf_counter()
            rows.append(dict(dataset=name, model=model, weights="pretrained" if pretrained else "random",
                             examples=len(labels), features_s=t1 - t0, logme=score, logme_s=t2 - t1,
                             probe_accuracy=probe, probe_s=t3 - t2))
            emit(**rows[-1])
            log(f"  {model:20} {rows[-1]['weights']:10} LogME {score:7.3f} ({t2 - t1:.2f}s)  "
                f"probe {probe:6.1%} ({t3 - t2:.1f}s)  features {t1 - t0:.1f}s")
    tau = kendalltau([r["logme"] for r in rows], [r["probe_accuracy"] for r in rows]).statistic
    best = max((r for r in rows if r["weights"] == "pretrained"), key=lambda r: r["logme"])["model"]
    t0 = time.perf_counter()
    related = relatedness(sample, best)
    layers = layer_scores(sample, best)
    emit(dataset=name, kendall_tau=tau, best=best, gap=related.gap, layer_scores=layers.scores,
         unfreeze=layers.unfreeze, recommend_s=time.perf_counter() - t0)
    log(f"  Kendall tau (LogME vs probe, {len(rows)} candidates) {tau:.2f}; best {best}, gap {related.gap:.3f}; "
        f"per block {' '.join(f'{s:.3f}' for s in layers.scores)} -> unfreeze {layers.unfreeze} "
        f"({time.perf_counter() - t0:.1f}s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(SUITE), help="comma-separated datasets: " + ", ".join(SUITE))
    parser.add_argument("--per-class", type=int, default=100)
    args = parser.parse_args()
    os.environ.setdefault("TRANSFERLAB_HOME", tempfile.mkdtemp(prefix="transferlab-select-"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    for name in args.only.split(","):
        score_dataset(name, args.per_class)
    return 0


if __name__ == "__main__":
    sys.exit(main())
