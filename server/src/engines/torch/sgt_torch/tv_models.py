"""torchvision backbones for the torch engine (schema.ts ARCHITECTURES: resnet18, resnet50,
densenet121, inception_v3), wrapped to return (logits, features) like models.py, with the
guided features F where schema.ts says CAM is taken: ResNet layer4, DenseNet the final
features after norm5 + ReLU, Inception v3 Mixed_7c; each has a GAP + linear head
(`head_weight`), so CAM = W[k]·F is exact.

Initial weights: torchvision's own initialisation under torch.manual_seed(seed) (these
architectures exist only in this engine, so there is no tfjs initialisation to match), or a
local state dict named by `model.pretrained` (nothing is downloaded): every tensor but the
classifier must fit; the classifier is kept when its shape fits the task, else freshly
initialised. Grayscale images are repeated to three channels (the backbones and their
pretrained weights expect RGB).
"""
import torch
import torch.nn.functional as F
from torch import nn

try:
    import torchvision
except ImportError:  # the engine still trains its own architectures
    torchvision = None

TV_ARCHS = ("resnet18", "resnet50", "densenet121", "inception_v3")
HEAD = {"resnet18": "fc", "resnet50": "fc", "densenet121": "classifier", "inception_v3": "fc"}


class TvModel(nn.Module):
    def __init__(self, arch, classes, channels):
        super().__init__()
        self.arch = arch
        self.channels = channels
        m = torchvision.models
        if arch == "resnet18":
            self.net = m.resnet18(weights=None, num_classes=classes)
        elif arch == "resnet50":
            self.net = m.resnet50(weights=None, num_classes=classes)
        elif arch == "densenet121":
            self.net = m.densenet121(weights=None, num_classes=classes)
        else:
            self.net = m.inception_v3(weights=None, num_classes=classes, aux_logits=False, init_weights=True)

    @property
    def head(self):
        return getattr(self.net, HEAD[self.arch])

    def features(self, x):
        """(F, mid): the final features and those of `layer = mid` (schema.ts layers)."""
        n = self.net
        if self.arch.startswith("resnet"):
            x = n.maxpool(n.relu(n.bn1(n.conv1(x))))
            mid = n.layer3(n.layer2(n.layer1(x)))
            return n.layer4(mid), mid
        if self.arch == "densenet121":
            mid = None
            for name, module in n.features.named_children():
                x = module(x)
                if name == "denseblock3":
                    mid = x
            return F.relu(x), mid
        x = n.Conv2d_2b_3x3(n.Conv2d_2a_3x3(n.Conv2d_1a_3x3(x)))
        x = n.Conv2d_4a_3x3(n.Conv2d_3b_1x1(n.maxpool1(x)))
        x = n.maxpool2(x)
        mid = None
        for name in ("Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c"):
            x = getattr(n, name)(x)
            if name == "Mixed_6e":
                mid = x
        return x, mid

    def forward(self, x, with_mid=False):
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        feats, mid = self.features(x)
        pooled = feats.mean(dim=(2, 3))
        if self.arch == "inception_v3":
            pooled = self.net.dropout(pooled)
        logits = self.head(pooled)
        return (logits, feats, mid) if with_mid else (logits, feats)


class PretrainedError(Exception):
    pass


def load_pretrained(model, file):
    """Loads a torchvision state dict; returns a note on what was kept. Raises PretrainedError."""
    try:
        state = torch.load(file, map_location="cpu")
    except Exception as e:  # a missing, truncated or foreign file: the user's to fix, with the file named
        raise PretrainedError(f"model.pretrained: cannot read {file} ({e})") from e
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise PretrainedError(f"model.pretrained: {file} is not a state dict")
    state = {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}
    own = model.net.state_dict()
    head = HEAD[model.arch] + "."
    skipped = [k for k in own if k.startswith(head) and (k not in state or tuple(state[k].shape) != tuple(own[k].shape))]
    wanted = {k: v for k, v in state.items() if k in own and k not in skipped}
    missing = [k for k in own if k not in wanted and k not in skipped and not k.endswith("num_batches_tracked")]
    if missing:
        raise PretrainedError(f"model.pretrained: {file} does not fit {model.arch}: no {', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}")
    for k, v in wanted.items():
        if tuple(v.shape) != tuple(own[k].shape):
            raise PretrainedError(f"model.pretrained: {file}: {k} has shape {tuple(v.shape)}, {model.arch} needs {tuple(own[k].shape)}")
    model.net.load_state_dict(wanted, strict=False)
    kept = "all tensors" if not skipped else f"all but the classifier ({HEAD[model.arch]}: a new one for this task's classes)"
    return f"pretrained weights from {file}: {kept}"


def create_tv_model(arch, classes, channels, seed):
    if torchvision is None:
        raise ImportError("torchvision")
    torch.manual_seed(seed)
    return TvModel(arch, classes, channels)
