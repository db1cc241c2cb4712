"""Grad-CAM on the real embedded EfficientNet-Lite0, and its token-grid path on tiny ViTs."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import timm
import torch
import torch.nn.functional as F

from tl_core.explain import colormap, explain_image, gradcam, overlay
from tl_core.explain._gradcam import _cams, _hooked
from tl_core.explain._source import subject
from tl_core.inputs import normalize
from tl_core.models.image import wrap_timm

BEE = 309  # ImageNet's "bee"
BEE_PHOTOS = ("val/bees/2407809945_fb525ef54d.jpg", "val/bees/144098310_a4176fd54d.jpg")
QUADRANTS = {"top left": (0, 0), "top right": (0, 112), "bottom left": (112, 0), "bottom right": (112, 112)}


def bee_on_grey(backbone, photo: Path, corner: tuple[int, int]) -> torch.Tensor:
    """A flat grey 224x224 canvas with the bee photo, shrunk to 112x112, in one quadrant."""
    view = subject(backbone).image_batch([photo]).float()                                # (1, 3, 224, 224)
    small = F.interpolate(view, size=(112, 112), mode="bilinear", antialias=True)[0]
    canvas = torch.full((3, 224, 224), 128, dtype=torch.uint8)
    r, c = corner
    canvas[:, r:r + 112, c:c + 112] = small.round().clamp(0, 255).to(torch.uint8)
    return canvas


@pytest.mark.parametrize("photo", BEE_PHOTOS)
def test_bee_heat_sits_in_the_bee_quadrant(imagenet_lite0, hymenoptera, photo):
    for where, (r, c) in QUADRANTS.items():
        heat, predicted, probs = gradcam(imagenet_lite0, bee_on_grey(imagenet_lite0, hymenoptera / photo, (r, c)), BEE)
        assert heat.shape == (224, 224) and heat.dtype == np.float32
        assert heat.min() >= 0 and heat.max() == pytest.approx(1.0)
        assert probs.shape == (1000,) and probs.sum() == pytest.approx(1.0, abs=1e-4)
        assert predicted == int(probs.argmax())
        masses = {name: heat[rr:rr + 112, cc:cc + 112].sum() / heat.sum() for name, (rr, cc) in QUADRANTS.items()}
        peak = np.unravel_index(heat.argmax(), heat.shape)
        assert r <= peak[0] < r + 112 and c <= peak[1] < c + 112, f"{where}: peak at {peak}"
        assert max(masses, key=masses.get) == where, f"{where}: {masses}"
        assert masses[where] > 0.4, f"{where}: only {masses[where]:.0%} of the heat (a quarter is chance)"


def test_file_input_and_class_by_name(imagenet_lite0, hymenoptera):
    photo = hymenoptera / BEE_PHOTOS[0]
    by_index = gradcam(imagenet_lite0, photo, BEE)
    by_name = gradcam(imagenet_lite0, str(photo), str(BEE))       # a Backbone's classes are "0".."999"
    np.testing.assert_allclose(by_index.heatmap, by_name.heatmap, atol=1e-6)
    with pytest.raises(ValueError, match="does not exist"):
        gradcam(imagenet_lite0, photo, 1000)


def test_a_trained_model_speaks_in_its_class_names(imagenet_lite0, hymenoptera):
    """A loaded model (as from a run folder) is wrapped by the engine's own wrap_timm, with its classes."""
    from tl_core.checkpoint import Trained

    names = [f"c{i}" for i in range(1000)]
    trained = Trained("image", "efficientnet_lite0", imagenet_lite0.model, names, imagenet_lite0.preprocess)
    photo = hymenoptera / BEE_PHOTOS[0]
    explained = explain_image(trained, photo, true_class="c309")
    assert explained.true == "c309" and explained.predicted in names
    np.testing.assert_allclose(explained.maps["true"], gradcam(imagenet_lite0, photo, BEE).heatmap, atol=1e-5)


def test_explain_image_maps_predicted_and_true_class(imagenet_lite0, hymenoptera):
    canvas = bee_on_grey(imagenet_lite0, hymenoptera / BEE_PHOTOS[0], (0, 0))
    explained = explain_image(imagenet_lite0, canvas, true_class=BEE)
    assert set(explained.maps) == {"predicted", "true"}
    assert explained.true == str(BEE) and explained.predicted == str(int(explained.probs.argmax()))
    assert explained.correct == (explained.predicted == str(BEE))
    np.testing.assert_allclose(explained.maps["true"], gradcam(imagenet_lite0, canvas, BEE).heatmap, atol=1e-5)
    pictures = explained.overlays()
    assert pictures["true"].size == (224, 224)
    assert set(explain_image(imagenet_lite0, canvas).maps) == {"predicted"}


def test_hook_path_matches_direct_path(imagenet_lite0, hymenoptera):
    """The forward-hook path (used for ViTs) gives the same map as taking forward_features directly."""
    model = imagenet_lite0.model
    canvas = bee_on_grey(imagenet_lite0, hymenoptera / BEE_PHOTOS[0], (112, 112))
    direct, _ = _cams(subject(imagenet_lite0), canvas[None], [BEE])
    x = normalize(canvas[None], imagenet_lite0.preprocess)
    with torch.enable_grad():
        acts, logits = _hooked(model, model.bn2, x)                      # bn2 ends forward_features
        (grad,) = torch.autograd.grad(logits[0, BEE], acts)
    cam = F.relu((grad.mean((2, 3), keepdim=True) * acts.detach()).sum(1, keepdim=True))
    cam = F.interpolate(cam, size=(224, 224), mode="bilinear", align_corners=False)[0, 0]
    np.testing.assert_allclose(direct[0], (cam / cam.max()).numpy(), atol=1e-4)


def tiny_vit(**kwargs):
    """A randomly initialised ViT-Tiny on 64x64 inputs (a 4x4 patch grid): builds in a fraction of a second."""
    torch.manual_seed(0)
    vit = timm.create_model("vit_tiny_patch16_224", pretrained=False, img_size=64, **kwargs)
    vit.pretrained_cfg = {**vit.pretrained_cfg, "input_size": (3, 64, 64)}  # what the engine reads the size from
    return vit


@pytest.mark.parametrize("pool", ["token", "avg"])
def test_vit_tokens_are_laid_out_on_the_patch_grid(pool):
    vit = tiny_vit(num_classes=3, global_pool=pool)
    image = torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8)
    heat, predicted, probs = gradcam(wrap_timm(vit, "tiny vit"), image, 1)
    assert heat.shape == (64, 64) and np.isfinite(heat).all()
    assert heat.max() == pytest.approx(1.0) and heat.min() >= 0
    assert probs.shape == (3,)


def test_tokens_that_form_no_grid_are_refused():
    vit = tiny_vit(num_classes=2, global_pool="avg")
    vit.patch_embed.grid_size = None                                    # as if the model kept no grid ...
    vit.num_prefix_tokens = 2                                           # ... and 15 patch tokens remain
    with pytest.raises(ValueError, match="square grid"):
        gradcam(wrap_timm(vit, "odd vit"), torch.zeros((3, 64, 64), dtype=torch.uint8))


def test_text_models_are_pointed_to_token_importance(yelp_run):
    with pytest.raises(ValueError, match="token_importance"):
        gradcam(yelp_run.dir, "anything.jpg")


def luminance(picture) -> np.ndarray:
    return (np.asarray(picture, dtype=np.float32) * [0.299, 0.587, 0.114]).sum(-1)


@pytest.mark.parametrize("photo", ["val/bees/2407809945_fb525ef54d.jpg", "val/ants/10308379_1b6c72e180.jpg"])
def test_overlay_reads_at_a_glance_on_a_light_photo(imagenet_lite0, hymenoptera, photo):
    """Where the model looked is bright, what it ignored is dark, whatever the photo's own brightness.

    Both photos have light backgrounds where the map is cold: the earlier overlay kept them as bright as the
    photo (97 % of their brightness) and the evidence was darker than them (contrast -18 and -42 of 255).
    """
    view = subject(imagenet_lite0).image_batch([hymenoptera / photo])[0]
    heat = gradcam(imagenet_lite0, view).heatmap
    looked, ignored = heat >= 0.8, heat <= 0.15  # the TF-padded Lite0 leaves 8 % of the ant photo below 0.1
    assert looked.mean() > 0.02 and ignored.mean() > 0.1                # both kinds of region exist here
    original, shown = luminance(view.permute(1, 2, 0).numpy()), luminance(overlay(view, heat))
    assert shown[looked].mean() - shown[ignored].mean() > 80             # measured 86 and 86
    assert shown[ignored].mean() < 0.4 * original[ignored].mean()       # measured 18 % and 22 %


def test_overlay_follows_the_colour_scale():
    image = np.full((3, 32, 48), 200, dtype=np.uint8)
    heat = np.zeros((16, 24), dtype=np.float32)                         # half size: overlay scales it up
    heat[:, 12:] = 1.0
    picture = np.asarray(overlay(image, heat)).astype(int)
    assert picture.shape == (32, 48, 3)
    assert (picture[:, :20].sum(-1) < 3 * 200 * 0.3).all()               # no heat: dimmed
    assert (picture[:, 28:, :2] > 200).all() and (picture[:, 28:, 0] > picture[:, 28:, 2]).all()  # full: pale yellow
    ramp = colormap(np.linspace(0, 1, 11))
    assert ramp.shape == (11, 3) and ramp.dtype == np.uint8
    assert (np.diff(ramp.astype(int).sum(1)) > 0).all()                 # brighter as the value rises
