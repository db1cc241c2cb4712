"""How good a trained model is, in the numbers a person asks for: accuracy, per class, what it confuses."""
from __future__ import annotations

import torch


def classification_metrics(probs: torch.Tensor, labels: torch.Tensor, classes: list[str], names: list[str],
                           max_mistakes: int = 60) -> dict:
    """probs (N, C) softmax outputs, labels (N,) true class ids, names (N,) what each example is called."""
    pred = probs.argmax(1)
    n = len(classes)
    confusion = torch.zeros(n, n, dtype=torch.long)                # rows: true class, columns: predicted
    confusion.index_put_((labels, pred), torch.ones_like(labels), accumulate=True)
    per_class = {}
    for i, name in enumerate(classes):
        tp = int(confusion[i, i])
        predicted, actual = int(confusion[:, i].sum()), int(confusion[i].sum())
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[name] = {"precision": precision, "recall": recall, "f1": f1, "support": actual}
    wrong = torch.nonzero(pred != labels).flatten().tolist()
    wrong.sort(key=lambda i: -float(probs[i, pred[i]]))             # most confident mistakes first
    mistakes = [{"name": names[i], "true": classes[int(labels[i])], "predicted": classes[int(pred[i])],
                 "confidence": float(probs[i, pred[i]]), "index": i} for i in wrong[:max_mistakes]]
    return {
        "accuracy": float((pred == labels).float().mean()) if len(labels) else 0.0,
        "examples": len(labels),
        "classes": classes,
        "per_class": per_class,
        "confusion": confusion.tolist(),
        "mistakes": mistakes,
        "mistake_count": len(wrong),
    }
