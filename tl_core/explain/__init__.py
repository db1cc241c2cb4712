"""Making transfer learning visible: what a model looks at, how it sees the data, what more data or a
pretrained start is worth.

    from tl_core.explain import gradcam, overlay, token_importance, feature_maps_for_run, learning_curve
    heat, predicted, probs = gradcam(predictor, "bee.jpg")
    overlay(predictor.image_batch(["bee.jpg"])[0], heat).show()

`HOW_TO_READ[view]` is the sentence or two the app prints under each chart, for people who do not
program. Like `tl_core`, names are imported on first use, so reading HOW_TO_READ does not load torch;
the modules behind them are private (`_gradcam.py`, ...), so no module shares a name with a function.
"""
from __future__ import annotations

import importlib

HOW_TO_READ = {
    "gradcam": (
        "The picture is lit where the model found evidence for the class it predicted (pale yellow: the "
        "strongest) and darkened where it found none. If the lit spot sits on the background instead of the "
        "object, the model may have learned a shortcut."),
    "gradcam_true": (
        "The same kind of map for the correct class: where the model saw evidence for the right answer. "
        "When the prediction is wrong, comparing the two maps shows what misled it."),
    "tokens": (
        "Darker words weighed more in the model's decision for the class shown; faint words hardly counted. "
        "A model that leans on the words that carry your classes' meaning, rather than on \"the\" or \"and\", has "
        "learned something sensible."),
    "feature_map": (
        "Each dot is one validation example, placed by how the network sees it: similar examples land close "
        "together. If the colours form separate clouds, the network can already tell the classes apart."),
    "feature_map_before_after": (
        "Left: the pretrained network before any training on your data; right: your trained model. Clouds "
        "that already separate on the left mean the pretrained knowledge did most of the work."),
    "learning_curve": (
        "Accuracy on the validation examples when a new head trains on only part of your examples (each share "
        "several times, at random). The bars show how far each point can be off by chance with this many "
        "validation examples: a rise smaller than a bar may be luck. Where the line flattens at a high accuracy, "
        "more examples of the same kind would add little."),
    "experiment": (
        "The same data and training budget, three starting points: a pretrained network with only a new last "
        "layer, one that also adapts its last blocks, and random weights. Higher and further left is better."),
    "layer_patches": (
        "Each row is one of the block's channels (one of its detectors), with the pieces of your pictures that "
        "switch it on most, each cut to what one unit of the block can see. Early blocks see a few pixels (edges, "
        "colours), late blocks most of the picture (whole objects and their parts)."),
    "layer_change": (
        "How different each block's output is on your validation examples after training than before, from 0 "
        "(the same) to 1 (completely different; measured as 1 minus linear CKA): frozen blocks did not move at "
        "all; the fine-tuned ones moved this far."),
    "layer_knowledge": (
        "How well each block's output already tells your classes apart, before any training (LogME on a sample of "
        "your data). Where the bars stop growing, later blocks add little for your classes."),
    "layer_attention": (
        "Darker words got more of this layer's attention. Early layers spread it over every word alike; later ones "
        "gather it on the words that carry the meaning."),
}

_API = {
    "Cam": "_gradcam", "gradcam": "_gradcam", "overlay": "_gradcam", "colormap": "_gradcam",
    "explain_image": "_gradcam", "ImageExplanation": "_gradcam",
    "token_importance": "_tokens",
    "feature_map": "_feature_map", "feature_map_before": "_feature_map", "feature_map_after": "_feature_map",
    "feature_maps_for_run": "_feature_map", "nearest_centre_accuracy": "_feature_map",
    "describe_separation": "_feature_map",
    "learning_curve": "_learning_curve", "stratified_subset": "_learning_curve", "summarize": "_learning_curve",
    "curve_verdict": "_learning_curve", "curve_summary": "_learning_curve", "curve_axis": "_learning_curve",
    "experiment_configs": "_experiment", "start_experiment": "_experiment", "experiment_runs": "_experiment",
    "takeaway": "_experiment", "arm_title": "_experiment", "ARMS": "_experiment", "what_is_equal": "_experiment",
    "time_ran_out": "_experiment", "EXPERIMENT_SECONDS": "_experiment",
    "block_patches": "_patches", "receptive_fields": "_patches", "pick_channels": "_patches",
    "linear_cka": "_cka", "block_changes": "_cka", "layer_attention": "_attention",
    "sentence_attention": "_attention", "layers_report": "_layers", "report_lines": "_layers",
}

__all__ = sorted([*_API, "HOW_TO_READ"])


def __getattr__(name: str):
    if name not in _API:
        raise AttributeError(f"module 'tl_core.explain' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_API[name]}", __name__), name)
