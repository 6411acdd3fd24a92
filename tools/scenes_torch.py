"""The fashion scenes and SceneNet in PyTorch, written from their definitions in
examples/fashion_scenes.h and examples/scene_net.h: the golden files' reference
(tools/make_scene_goldens.py) and the peer's model (bench/peer_scenes.py).
"""
import torch
from torch import nn
from torch.nn import functional as f

SIZE, CELL, ITEM, IGNORE, THRESHOLD, TINT = 64, 32, 28, -100, 0.2, 0.5


_by_class = {}


def classes_of(labels):
    """Per class, the indices of its items in ascending order (computed once per label set)."""
    key = (labels.data_ptr(), len(labels))
    if key not in _by_class:
        _by_class[key] = [torch.nonzero(labels == k).flatten().tolist() for k in range(10)]
    return _by_class[key]


def draw(items, labels, seed, i):
    g = torch.Generator().manual_seed((seed * 1000003 + i) % 2**32)

    def pick(n):
        return int(torch.randint(0, n, (1,), generator=g).item())

    by_class = classes_of(labels)
    image = torch.zeros(1, SIZE, SIZE)
    target = torch.zeros(SIZE, SIZE, dtype=torch.int64)
    reference_cell = pick(4)
    reference = pick(len(labels))
    reference_class = int(labels[reference])
    for cell in range(4):
        item, label = reference, IGNORE
        if cell != reference_cell:
            same = pick(2) == 1
            cls = reference_class if same else (reference_class + 1 + pick(9)) % 10
            item = by_class[cls][pick(len(by_class[cls]))]
            label = 1 if same else 2
        top, left = cell // 2 * CELL + pick(5), cell % 2 * CELL + pick(5)
        patch = items[item]
        image[0, top:top + ITEM, left:left + ITEM] = patch
        region = target[top:top + ITEM, left:left + ITEM]
        region[patch > THRESHOLD] = label
    top, left = reference_cell // 2 * CELL, reference_cell % 2 * CELL
    image[0, top:top + CELL, left:left + CELL].clamp_(min=TINT)
    target[top:top + CELL, left:left + CELL] = IGNORE
    return image, target


MEAN, STD = 0.306, 0.332  # FashionScenes::kSceneMean, kSceneStd
WEIGHT = (0.3, 1.0, 1.0)  # the loss's class weights (examples/run_settings.h)


class EfficientAttention(nn.Module):
    """The official module (github cmsflash/efficient-attention), its per-head loop as there."""

    def __init__(self, channels, head_count):
        super().__init__()
        self.channels, self.head_count = channels, head_count
        self.keys = nn.Conv2d(channels, channels, 1)
        self.queries = nn.Conv2d(channels, channels, 1)
        self.values = nn.Conv2d(channels, channels, 1)
        self.reprojection = nn.Conv2d(channels, channels, 1)

    def forward(self, input_):
        n, c, h, w = input_.size()
        keys = self.keys(input_).reshape(n, c, h * w)
        queries = self.queries(input_).reshape(n, c, h * w)
        values = self.values(input_).reshape(n, c, h * w)
        hc = c // self.head_count
        attended = []
        for i in range(self.head_count):
            key = f.softmax(keys[:, i * hc:(i + 1) * hc, :], dim=2)
            query = f.softmax(queries[:, i * hc:(i + 1) * hc, :], dim=1)
            value = values[:, i * hc:(i + 1) * hc, :]
            context = key @ value.transpose(1, 2)
            attended.append((context.transpose(1, 2) @ query).reshape(n, hc, h, w))
        return self.reprojection(torch.cat(attended, dim=1)) + input_


def conv(cin, cout, dilation=1):
    return [nn.Conv2d(cin, cout, 3, padding=dilation, dilation=dilation), nn.BatchNorm2d(cout), nn.ReLU()]


class SceneNet(nn.Module):
    """examples/scene_net.h with efficient attention, the same layers in the same order."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(*conv(1, 16), *conv(16, 16))
        self.down = nn.Sequential(nn.MaxPool2d(2), *conv(16, 32), *conv(32, 32, 2), *conv(32, 32, 4))
        self.attn = EfficientAttention(32, 4)
        self.mid = nn.Sequential(*conv(32, 32))
        self.up = nn.ConvTranspose2d(32, 16, 2, stride=2)
        self.head = nn.Sequential(*conv(32, 16), nn.Conv2d(16, 3, 1))

    def forward(self, x):
        skip = self.stem(x)
        deep = self.mid(self.attn(self.down(skip)))
        return self.head(torch.cat([self.up(deep), skip], 1))


def loss_fn(logits, target):
    weight = torch.tensor(WEIGHT, dtype=logits.dtype)
    return f.cross_entropy(logits, target, weight=weight, ignore_index=IGNORE)
