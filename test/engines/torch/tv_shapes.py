"""Every torchvision backbone of the torch engine builds, runs a batch and gives a CAM at the
layer schema.ts names (printed as JSON for tv.test in engine.test.ts)."""
import json

import torch

from sgt_torch.cam import normalized_cam
from sgt_torch.models import create_model, feature_size

torch.set_num_threads(1)
out = {}
for arch, size in (("resnet18", 64), ("resnet50", 32), ("densenet121", 32), ("inception_v3", 75)):
    m = create_model(arch, 32, [], size, 1, 3, 0).eval()
    with torch.no_grad():
        logits, feats = m(torch.rand(2, 1, size, size))
        cam = normalized_cam(feats, m.head.weight, torch.tensor([0, 2]))
    out[arch] = {"logits": list(logits.shape), "features": list(feats.shape), "cam": list(cam.shape), "camSize": feature_size(arch, size, m, 1), "head": list(m.head.weight.shape)}
print(json.dumps(out))
