"""`unfreeze = N`: exactly the last N blocks and the head train; pretrained BatchNorm statistics stay put."""
from __future__ import annotations

import pytest
import timm
import torch
from torch import nn

from tl_core.config import ALL, RunConfig, what_trains
from tl_core.freeze import apply_plan, keep_batchnorm_frozen, plan_for
from tl_core.models.image import wrap_timm


@pytest.fixture(scope="module", params=["test_efficientnet", "test_vit"])
def backbone(request):
    torch.manual_seed(0)
    return wrap_timm(timm.create_model(request.param, pretrained=False, num_classes=3), request.param)


def _trainable(backbone) -> set[str]:
    return {n for n, p in backbone.model.named_parameters() if p.requires_grad}


def _numel(backbone, names) -> int:
    params = dict(backbone.model.named_parameters())
    return sum(params[n].numel() for n in names)


def test_unfreeze_n_trains_exactly_the_last_n_blocks_and_the_head(backbone):
    total = sum(p.numel() for p in backbone.model.parameters())
    head = set(backbone.head_names())
    for n in range(backbone.num_blocks + 1):
        expected = {name for b in backbone.blocks[backbone.num_blocks - n:] for name in b.param_names} | head
        if n == 0:
            expected = head
        plan = apply_plan(backbone, n)
        assert _trainable(backbone) == expected, f"unfreeze={n}"
        assert plan == plan_for(backbone, n)
        assert (plan.unfreeze, plan.first_trainable) == (n, backbone.num_blocks - n)
        assert plan.trainable == _numel(backbone, expected) and plan.total == total
        assert plan.head_only == (n == 0) and not plan.from_scratch


def test_more_than_the_block_count_or_all_means_everything(backbone):
    everything = {n for n, _ in backbone.model.named_parameters()}
    for n in (backbone.num_blocks + 1, 1000, ALL):
        plan = apply_plan(backbone, n)
        assert _trainable(backbone) == everything, f"unfreeze={n}"
        assert (plan.unfreeze, plan.first_trainable) == (backbone.num_blocks, 0)
        assert plan.trainable == plan.total


def test_from_scratch_trains_everything_whatever_unfreeze_says(backbone):
    plan = apply_plan(backbone, 0, from_scratch=True)
    assert _trainable(backbone) == {n for n, _ in backbone.model.named_parameters()}
    assert plan.from_scratch and not plan.head_only and plan.trainable == plan.total


def test_a_negative_count_other_than_all_is_refused(backbone):
    with pytest.raises(ValueError, match="must be 0 or more"):
        apply_plan(backbone, -2)


def test_plan_for_does_not_touch_the_model(backbone):
    apply_plan(backbone, 1)
    before = _trainable(backbone)
    plan_for(backbone, ALL)
    assert _trainable(backbone) == before


def test_describe_reads_as_a_share():
    backbone = wrap_timm(timm.create_model("test_resnet", pretrained=False, num_classes=2), "test_resnet")
    head = apply_plan(backbone, 0)
    assert head.trainable / head.total < 0.01
    assert head.describe() == f"trainable: {head.trainable:,} of {head.total / 1e6:.1f} M parameters (less than 1%)"
    everything = apply_plan(backbone, ALL)
    assert everything.describe() == f"trainable: {everything.total / 1e6:.1f} M of {everything.total / 1e6:.1f} M " \
                                    "parameters (100%)"


def test_frozen_batchnorm_stays_in_eval_mode_and_keeps_its_statistics():
    model = timm.create_model("test_efficientnet", pretrained=False, num_classes=2)
    batchnorms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert batchnorms
    before = {k: v.clone() for k, v in model.state_dict().items() if "running_" in k}
    model.train()
    keep_batchnorm_frozen(model)
    assert all(not m.training for m in batchnorms)
    inside = {id(m) for bn in batchnorms for m in bn.modules()}  # timm's BatchNormAct2d holds its activation
    others = [m for m in model.modules() if id(m) not in inside]
    assert model in others and all(m.training for m in others)  # the rest (and the model's dropout) still train
    model(torch.randn(4, 3, 64, 64) * 3 + 1).sum().backward()
    after = model.state_dict()
    for name, value in before.items():
        assert torch.equal(after[name], value), name


@pytest.mark.parametrize("spelling", [dict(unfreeze=0), dict(unfreeze=ALL), dict(unfreeze=2)],
                         ids=["as the Train page wrote it", "as the comparison wrote it", "with a count"])
def test_from_scratch_is_one_run_whichever_way_it_is_spelled(backbone, spelling):
    config = RunConfig(data="x", from_scratch=True, **spelling)
    assert config == RunConfig(data="x", from_scratch=True) and config.unfreeze == ALL
    plan = plan_for(backbone, config.unfreeze, config.from_scratch)
    assert (plan.unfreeze, plan.first_trainable) == (backbone.num_blocks, 0) and plan.trainable == plan.total
    assert plan == plan_for(backbone, spelling["unfreeze"], from_scratch=True)


def test_every_choice_is_said_by_one_function():
    """The slider, run labels, the model card and the comparison's arm titles all take their words here."""
    assert [what_trains(n, blocks=3) for n in (0, 1, 2, 3, 4, ALL)] == [
        "only the new head", "the last block", "the last 2 blocks", "all blocks", "all blocks", "all blocks"]
    assert what_trains(0, from_scratch=True) == what_trains(ALL, from_scratch=True) == "everything, from scratch"
    assert [what_trains(n, short=True) for n in (0, 1, 2, ALL, None)] == [
        "head only", "last block", "last 2 blocks", "all blocks", "last blocks"]
    assert what_trains(ALL, from_scratch=True, short=True) == "from scratch"
