"""The architectures of engines/tfjs/models.ts (its header comment is THE definition), in
PyTorch, with the same deterministic initialisation for a seed.

Parameter names equal the tfjs engine's (``conv1.weight``, ``stage2.shortcut.bias``,
``head.weight`` ...) and are the modules' state_dict keys, so checkpoints and the
conformance tests can match tensors by name. Layouts differ: tfjs conv weights are
[kh, kw, in, out] and linear weights [in, out]; torch's are [out, in, kh, kw] and
[out, in]. Initial values are drawn in the tfjs layout's row-major order (that is what
fixes them) and then transposed into torch's layout (``to_torch_layout``).
"""
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .rng import Rng
from .tv_models import TV_ARCHS, create_tv_model, torchvision

INIT_STREAM = 1001
OWN_ARCHS = ("small_cnn", "small_resnet", "mlp")
# torchvision's backbones when torchvision is installed
ARCHS = OWN_ARCHS + (TV_ARCHS if torchvision is not None else ())


class ModelError(Exception):
    """The experiment asks for a model this engine cannot build."""


def normals(rng: Rng, count: int, scale: float) -> np.ndarray:
    """Box-Muller as models.ts NormalSource.fill: one normal per pair of draws, float32."""
    out = np.empty(count, dtype=np.float64)
    two_pi = 2 * math.pi
    for i in range(count):
        u1 = 1 - rng.float()
        u2 = rng.float()
        out[i] = scale * math.sqrt(-2 * math.log(u1)) * math.cos(two_pi * u2)
    return out.astype(np.float32)


def to_torch_layout(values: np.ndarray, tfjs_shape: tuple) -> np.ndarray:
    """A tensor in tfjs layout (flat or shaped) -> torch layout."""
    v = np.asarray(values, dtype=np.float32).reshape(tfjs_shape)
    if v.ndim == 4:  # [kh, kw, in, out] -> [out, in, kh, kw]
        return np.ascontiguousarray(v.transpose(3, 2, 0, 1))
    if v.ndim == 2:  # [in, out] -> [out, in]
        return np.ascontiguousarray(v.T)
    return v


def to_tfjs_layout(values: np.ndarray) -> np.ndarray:
    """Inverse of to_torch_layout (for comparisons and exports)."""
    v = np.asarray(values)
    if v.ndim == 4:
        return np.ascontiguousarray(v.transpose(2, 3, 1, 0))
    if v.ndim == 2:
        return np.ascontiguousarray(v.T)
    return v


def _conv(cin, cout, k, stride, pad):
    return nn.Conv2d(cin, cout, k, stride=stride, padding=pad, bias=True)


class SmallCnn(nn.Module):
    def __init__(self, w, c, k):
        super().__init__()
        self.conv1 = _conv(c, w, 3, 1, 1)
        self.conv2 = _conv(w, 2 * w, 3, 1, 1)
        self.conv3 = _conv(2 * w, 4 * w, 3, 1, 1)
        self.head = nn.Linear(4 * w, k)

    def forward(self, x, with_mid=False):
        h1 = F.relu(self.conv1(x))
        h2 = F.relu(self.conv2(F.max_pool2d(h1, 2)))
        feats = F.relu(self.conv3(F.max_pool2d(h2, 2)))
        logits = self.head(feats.mean(dim=(2, 3)))
        # `layer = mid` is h2 (models.ts); returned only when asked, so callers keep (logits, F)
        return (logits, feats, h2) if with_mid else (logits, feats)


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.stride = stride
        self.conv1 = _conv(cin, cout, 3, stride, 1)
        self.conv2 = _conv(cout, cout, 3, 1, 1)
        self.shortcut = _conv(cin, cout, 1, stride, 0) if stride != 1 or cin != cout else None

    def forward(self, h):
        y = self.conv2(F.relu(self.conv1(h)))
        return F.relu(y + (self.shortcut(h) if self.shortcut is not None else h))


class SmallResnet(nn.Module):
    def __init__(self, w, c, k):
        super().__init__()
        self.stem = _conv(c, w, 3, 1, 1)
        self.stage1 = Block(w, w, 1)
        self.stage2 = Block(w, 2 * w, 2)
        self.stage3 = Block(2 * w, 4 * w, 2)
        self.head = nn.Linear(4 * w, k)

    def forward(self, x, with_mid=False):
        h2 = self.stage2(self.stage1(F.relu(self.stem(x))))
        feats = self.stage3(h2)
        logits = self.head(feats.mean(dim=(2, 3)))
        return (logits, feats, h2) if with_mid else (logits, feats)


class Mlp(nn.Module):
    def __init__(self, inputs, hidden, k):
        super().__init__()
        sizes = [inputs, *hidden]
        for i, h in enumerate(hidden):
            self.add_module(f"fc{i + 1}", nn.Linear(sizes[i], h))
        self.n_hidden = len(hidden)
        self.head = nn.Linear(sizes[-1], k)

    def forward(self, x, with_mid=False):
        # NCHW -> (y, x, channel) row-major, as tfjs flattens NHWC
        h = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)
        for i in range(self.n_hidden):
            h = F.relu(getattr(self, f"fc{i + 1}")(h))
        # no spatial features: attributions of an MLP are taken at the input only
        return (self.head(h), None, None) if with_mid else (self.head(h), None)


def param_specs(arch, width, hidden, image_size, channels, classes):
    """(name, tfjs shape, fan-in, gain) in declaration order; gain None = bias (zeros)."""
    specs = []

    def conv(name, k, cin, cout):
        specs.append((f"{name}.weight", (k, k, cin, cout), k * k * cin, 2.0))
        specs.append((f"{name}.bias", (cout,), None, None))

    def linear(name, cin, cout, gain):
        specs.append((f"{name}.weight", (cin, cout), cin, gain))
        specs.append((f"{name}.bias", (cout,), None, None))

    w, c, k = width, channels, classes
    if arch == "small_cnn":
        conv("conv1", 3, c, w)
        conv("conv2", 3, w, 2 * w)
        conv("conv3", 3, 2 * w, 4 * w)
        linear("head", 4 * w, k, 1.0)
    elif arch == "small_resnet":
        conv("stem", 3, c, w)
        for name, cin, cout, stride in (("stage1", w, w, 1), ("stage2", w, 2 * w, 2), ("stage3", 2 * w, 4 * w, 2)):
            conv(f"{name}.conv1", 3, cin, cout)
            conv(f"{name}.conv2", 3, cout, cout)
            if stride != 1 or cin != cout:
                conv(f"{name}.shortcut", 1, cin, cout)
        linear("head", 4 * w, k, 1.0)
    elif arch == "mlp":
        sizes = [image_size * image_size * c, *hidden]
        for i, h in enumerate(hidden):
            linear(f"fc{i + 1}", sizes[i], h, 2.0)
        linear("head", sizes[-1], k, 1.0)
    else:
        raise ModelError(f"the torch engine has no architecture '{arch}' (it trains {', '.join(ARCHS)})")
    return specs


def initial_values(arch, width, hidden, image_size, channels, classes, seed):
    """{name: tfjs-layout float32 array}: exactly the tfjs engine's initial weights for the seed."""
    rng = Rng(seed, INIT_STREAM)
    out = {}
    for name, shape, fan_in, gain in param_specs(arch, width, hidden, image_size, channels, classes):
        count = int(np.prod(shape))
        if gain is None:
            out[name] = np.zeros(shape, dtype=np.float32)
        else:
            out[name] = normals(rng, count, math.sqrt(gain / fan_in)).reshape(shape)
    return out


def feature_size(arch, image_size, model=None, channels=1):
    """h = w of the CAM / guided features; None for the MLP. torchvision backbones: measured
    with one forward pass of a blank image (their strides and paddings vary)."""
    if arch == "small_cnn":
        return (image_size // 2) // 2
    if arch == "small_resnet":
        return -(-(-(-image_size // 2)) // 2)
    if arch in TV_ARCHS and model is not None:
        was_training = model.training
        model.eval()
        with torch.no_grad():
            p = next(model.parameters())
            _, feats = model(torch.zeros(1, channels, image_size, image_size, device=p.device))
        model.train(was_training)
        return int(feats.shape[-1])
    return None


def create_model(arch, width, hidden, image_size, channels, classes, seed):
    if arch == "small_cnn":
        if image_size < 4:
            raise ModelError(f"small_cnn needs images of at least 4 px (two 2x2 poolings), got {image_size}")
        model = SmallCnn(width, channels, classes)
    elif arch == "small_resnet":
        model = SmallResnet(width, channels, classes)
    elif arch == "mlp":
        model = Mlp(image_size * image_size * channels, hidden, classes)
    elif arch in TV_ARCHS:
        if torchvision is None:
            raise ModelError(f"model.arch = {arch} needs torchvision, which this Python cannot import: install it (`pip install torchvision`, or Debian: `apt-get install python3-torchvision`)")
        return create_tv_model(arch, classes, channels, seed)
    else:
        raise ModelError(f"the torch engine has no architecture '{arch}' (it trains {', '.join(ARCHS)})")
    load_tfjs_layout(model, initial_values(arch, width, hidden, image_size, channels, classes, seed))
    return model


def load_tfjs_layout(model, values):
    """Copies {name: tfjs-layout array} into the model; every parameter must be given."""
    params = dict(model.named_parameters())
    missing = set(params) - set(values)
    if missing:
        raise ModelError(f"no values for {', '.join(sorted(missing))}")
    with torch.no_grad():
        for name, p in params.items():
            v = values[name]
            t = torch.from_numpy(to_torch_layout(v, np.asarray(v).shape))
            if tuple(t.shape) != tuple(p.shape):
                raise ModelError(f"{name}: shape {tuple(t.shape)} does not fit {tuple(p.shape)}")
            p.copy_(t)


def parameter_count(model):
    return sum(p.numel() for p in model.parameters())
