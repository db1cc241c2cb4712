"""Everything the layer views show for a run or, before any run, for a model and data: one call for the CLI.

    report = layers_report("RUN_ID")     # names, what each block sees, how much each changed, what it knows

For pictures, what each block sees is `block_patches`; for texts, which words each layer attends to is
`layer_attention`. How much each block changed (`block_changes`) needs a trained model. How much each block
already knows about the classes is LogME on its pooled output (`select.layer_scores`), on a sample of the data.
"""
from __future__ import annotations


def layers_report(source, knowledge: bool = True) -> dict:
    """{"kind", "run" (its id, None before a run), "sees" (`block_patches`' index or `layer_attention`),
    "changes" (`block_changes`; None before a run), "knowledge" ({"titles", "names", "scores", "unfreeze",
    "reason"}; None when not asked for)} for a run or a RunConfig."""
    from .. import run_files
    from ..models.layout import plain_names
    from ..rundata import open_run_data
    from ..select import layer_scores, sample_data
    from ._attention import layer_attention
    from ._cka import block_changes
    from ._feature_map import resolve
    from ._patches import block_patches

    config, folder = resolve(source)
    kind = open_run_data(config).dataset.kind
    sees = block_patches(source) if kind == "image" else layer_attention(source)
    changes = block_changes(folder) if folder is not None and (folder / run_files.WEIGHTS).exists() else None
    known = None
    if knowledge:
        scores = layer_scores(sample_data(config.data, config=config), config.model)
        known = {"titles": scores.blocks, "names": plain_names(scores.blocks, kind), "scores": scores.scores,
                 "unfreeze": scores.unfreeze, "reason": scores.reason}
    return {"kind": kind, "run": folder.name if folder else None, "sees": sees, "changes": changes,
            "knowledge": known}


def report_lines(report: dict) -> list[str]:
    """The report as lines a person reads in a terminal: one per block, input side first."""
    sees, changes, known = report["sees"], report["changes"], report["knowledge"] or {}
    lines = [f"Layers of run {report['run']}" if report["run"] else "Layers of the pretrained network"]
    if report["kind"] == "image":
        lines.append(f"(top patches of {sees['pictures']} of your pictures, tiles in {sees['folder']})")
        seen = {b["title"]: f"field {b['field']} px, {len(b['channels'])} channels" for b in sees["blocks"]}
    else:
        seen = {title: "attends to: " + ", ".join(_top_words(sees["sentences"], k))
                for k, title in enumerate(sees["titles"])}
    titles = (changes or known).get("titles") or [b["title"] for b in sees.get("blocks", [])]
    names = (changes or known).get("names") or titles
    for b, (title, name) in enumerate(zip(titles, names)):
        parts = [seen.get(title, "")]
        if changes:
            parts.append(f"changed {changes['change'][b]:.3f}" + (" (fine-tuned)" if changes["trained"][b] else ""))
        if known:
            parts.append(f"knows {known['scores'][b]:.3f}")
        lines.append(f"{name:36} " + " · ".join(p for p in parts if p))
    if known:
        lines.append(known["reason"])
    return lines


def _top_words(sentences: list[dict], layer: int, count: int = 3) -> list[str]:
    """The most attended words of each sentence in one layer."""
    words = []
    for sentence in sentences:
        ranked = sorted(sentence["layers"][layer], key=lambda pair: -pair[1])
        words += [word for word, _ in ranked[:count]]
    return words
