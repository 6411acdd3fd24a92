#!/usr/bin/python3
"""Regenerates tests/golden/nn.safetensors, optim.safetensors and fashionnet.safetensors from
PyTorch (Debian's python3-torch). Only needed to regenerate; never to build or test ember.
Run from the repository root:  /usr/bin/python3 tools/make_nn_goldens.py

nn:      per case C and dtype D: C.D.param.<name> (loaded into ember's layer by state_dict name),
         C.D.x (input), C.D.gout, C.D.out, C.D.grad.x, C.D.grad.<param>.
optim:   per optimizer O: O.w0/O.b0 (start), O.step<k>.w/.b after each of 10 steps, and the
         fixed problem's data; per scheduler S: S.lr (the learning rate per epoch); per
         ReduceLROnPlateau case P: P.metric (what step() is given) and P.lr (before and after).
fashionnet: FashionNet (no attention) weights from PyTorch with the model's own names, a fixed
         batch, outputs in eval and train mode, and the input gradient of the train-mode loss.
"""
import os
import sys

import torch
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_py  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden")


def randomize(module, gen):
    """Non-trivial values for every parameter (norm layers start at ones/zeros otherwise)."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64) * 0.5 + (p.data.mean() if p.numel() else 0))


def layer_cases():
    """name -> (module factory, input shape, input kind: x, x3 (x * 3) or index)"""
    return {
        "linear": (lambda: nn.Linear(5, 3), (4, 5), "x"),
        "conv": (lambda: nn.Conv2d(3, 4, 3, padding=1), (2, 3, 6, 6), "x"),
        "conv_strided": (lambda: nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2),
                         (2, 4, 7, 8), "x"),
        "conv_nobias": (lambda: nn.Conv2d(2, 3, 1, bias=False), (1, 2, 3, 4), "x"),
        "bn1d": (lambda: nn.BatchNorm1d(4), (6, 4), "x"),
        "layernorm": (lambda: nn.LayerNorm([4, 5]), (2, 3, 4, 5), "x"),
        "groupnorm": (lambda: nn.GroupNorm(2, 4), (2, 4, 3, 3), "x"),
        "maxpool": (lambda: nn.MaxPool2d(3, stride=2, padding=1), (2, 3, 7, 7), "x"),
        "maxpool2": (lambda: nn.MaxPool2d(2), (2, 3, 6, 6), "x"),
        "avgpool": (lambda: nn.AvgPool2d(3, stride=2, padding=1), (2, 3, 7, 7), "x"),
        "adaptive": (lambda: nn.AdaptiveAvgPool2d((3, 2)), (2, 3, 7, 5), "x"),
        "embedding": (lambda: nn.Embedding(10, 4), (2, 3), "index"),
        "relu": (lambda: nn.ReLU(), (3, 4), "x"),
        "leaky_relu": (lambda: nn.LeakyReLU(0.2), (3, 4), "x"),
        "gelu": (lambda: nn.GELU(), (3, 4), "x"),
        "gelu_tanh": (lambda: nn.GELU(approximate="tanh"), (3, 4), "x"),
        "silu": (lambda: nn.SiLU(), (3, 4), "x"),
        "sigmoid": (lambda: nn.Sigmoid(), (3, 4), "x"),
        "tanh": (lambda: nn.Tanh(), (3, 4), "x"),
        "softmax": (lambda: nn.Softmax(dim=1), (3, 4, 2), "x"),
        "flatten": (lambda: nn.Flatten(), (2, 3, 2, 2), "x"),
        "hardswish": (lambda: nn.Hardswish(), (3, 8), "x3"),
        "mish": (lambda: nn.Mish(), (3, 8), "x3"),
        "prelu": (lambda: nn.PReLU(3), (2, 3, 4), "x"),
        "prelu1": (lambda: nn.PReLU(), (3, 4), "x"),
        "pixel_shuffle": (lambda: nn.PixelShuffle(2), (2, 8, 3, 3), "x"),
        "conv_transpose": (lambda: nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1),
                           (2, 3, 4, 5), "x"),
        "conv_transpose_groups": (lambda: nn.ConvTranspose2d(4, 6, (3, 2), stride=(2, 1), padding=(0, 1),
                                                             output_padding=(1, 0), groups=2, dilation=(1, 2)),
                                  (2, 4, 3, 4), "x"),
        "conv_transpose_nobias": (lambda: nn.ConvTranspose2d(2, 3, 2, stride=2, bias=False), (1, 2, 3, 3), "x"),
        "adaptive_max": (lambda: nn.AdaptiveMaxPool2d((3, 2)), (2, 3, 7, 5), "x"),
        "adaptive_max_even": (lambda: nn.AdaptiveMaxPool2d(2), (2, 3, 6, 4), "x"),
        "upsample_nearest": (lambda: nn.Upsample(scale_factor=2), (2, 3, 3, 4), "x"),
        "upsample_nearest_size": (lambda: nn.Upsample(size=(5, 7)), (2, 3, 3, 4), "x"),
        "upsample_nearest_frac": (lambda: nn.Upsample(scale_factor=(1.7, 0.6)), (1, 2, 5, 6), "x"),
        "upsample_bilinear": (lambda: nn.Upsample(size=(5, 7), mode="bilinear"), (2, 3, 3, 4), "x"),
        "upsample_bilinear_down": (lambda: nn.Upsample(scale_factor=(0.6, 1.5), mode="bilinear"),
                                   (1, 2, 6, 4), "x"),
        "upsample_bilinear_corners": (lambda: nn.Upsample(scale_factor=1.5, mode="bilinear", align_corners=True),
                                      (2, 2, 4, 3), "x"),
        "pad_reflect": (lambda: nn.ReflectionPad2d((1, 2, 2, 0)), (2, 3, 4, 5), "x"),
        "pad_reflect1d": (lambda: nn.ReflectionPad1d(2), (2, 3, 5), "x"),
        "pad_replicate": (lambda: nn.ReplicationPad2d((2, 0, 1, 3)), (2, 3, 4, 5), "x"),
        "pad_constant": (lambda: nn.ConstantPad2d((1, -1, 2, 0), 0.5), (2, 3, 4, 5), "x"),
    }


def record_losses(tensors, cases, gen):
    """Per case name: (fn, x0) -> loss.<name>.x, .out, .gout (drawn from gen) and .grad."""
    for name, (fn, x0) in cases.items():
        x = x0.clone().requires_grad_()
        out = fn(x)
        gout = torch.randn(tuple(out.shape), generator=gen, dtype=torch.float64)
        out.backward(gout)
        tensors[f"loss.{name}.x"], tensors[f"loss.{name}.out"] = x0, out.detach()
        tensors[f"loss.{name}.gout"], tensors[f"loss.{name}.grad"] = gout, x.grad


def record_layers(tensors, cases, gen):
    """Per case name and dtype: parameters, input, output, cotangent and gradients (see above)."""
    for name, (factory, shape, kind) in cases.items():
        for dtype, tag in ((torch.float64, "f64"), (torch.float32, "f32")):
            torch.manual_seed(3)
            m = factory().to(dtype)
            randomize(m, gen)
            key = f"{name}.{tag}."
            for pname, p in m.state_dict().items():
                tensors[key + "param." + pname] = p.detach().clone()
            if kind == "index":
                x = torch.randint(0, 10, shape, generator=gen)
            else:
                scale = 3.0 if kind == "x3" else 1.0  # "x3": past the activation's bends at +-3
                x = (torch.randn(*shape, generator=gen, dtype=torch.float64) * scale).to(dtype).requires_grad_()
            out = m(x)
            gout = torch.randn(tuple(out.shape), generator=gen, dtype=torch.float64).to(dtype)
            out.backward(gout)
            tensors[key + "x"] = x.detach()
            tensors[key + "out"] = out.detach()
            tensors[key + "gout"] = gout
            if kind != "index":
                tensors[key + "grad.x"] = x.grad
            for pname, p in m.named_parameters():
                tensors[key + "grad." + pname] = p.grad



def one_d_cases():
    """The 1-d layers, drawn after everything else from their own generator."""
    return {
        "conv1d": (lambda: nn.Conv1d(3, 4, 3, stride=2, padding=1), (2, 3, 9), "x"),
        "conv1d_groups": (lambda: nn.Conv1d(4, 6, 2, dilation=2, groups=2, bias=False), (2, 4, 7), "x"),
        "max_pool1d": (lambda: nn.MaxPool1d(3, stride=2, padding=1), (2, 3, 8), "x"),
        "avg_pool1d": (lambda: nn.AvgPool1d(2), (2, 3, 7), "x"),
    }


def make_nn(tensors):
    gen = torch.Generator().manual_seed(7)
    record_layers(tensors, layer_cases(), gen)

    # BatchNorm2d: three training steps, then eval with the running statistics.
    for dtype, tag in ((torch.float64, "f64"), (torch.float32, "f32")):
        torch.manual_seed(3)
        bn = nn.BatchNorm2d(3, momentum=0.2).to(dtype)
        randomize(bn, gen)
        key = f"bn2d.{tag}."
        for pname, p in bn.state_dict().items():
            tensors[key + "param." + pname] = p.detach().clone()
        for step in range(3):
            x = (torch.randn(4, 3, 5, 5, generator=gen, dtype=torch.float64) * (step + 1) + step).to(dtype)
            x.requires_grad_()
            out = bn(x)
            gout = torch.randn(tuple(out.shape), generator=gen, dtype=torch.float64).to(dtype)
            out.backward(gout)
            s = f"{key}train{step}."
            tensors[s + "x"], tensors[s + "out"], tensors[s + "gout"] = x.detach(), out.detach(), gout
            tensors[s + "grad.x"] = x.grad
            tensors[s + "running_mean"] = bn.running_mean.clone()
            tensors[s + "running_var"] = bn.running_var.clone()
        bn.eval()
        x = torch.randn(2, 3, 5, 5, generator=gen, dtype=torch.float64).to(dtype)
        tensors[key + "eval.x"], tensors[key + "eval.out"] = x, bn(x).detach()

    # Losses (float64): inputs, outputs, input gradients.
    logits = torch.randn(6, 5, generator=gen, dtype=torch.float64)
    target = torch.tensor([1, 0, 4, -100, 2, 4])
    spatial = torch.randn(2, 4, 3, 2, generator=gen, dtype=torch.float64)
    spatial_t = torch.randint(0, 4, (2, 3, 2), generator=gen)
    pred = torch.randn(3, 4, generator=gen, dtype=torch.float64)
    prob = torch.rand(3, 4, generator=gen, dtype=torch.float64)
    cases = {
        "ce_mean": (lambda x: F.cross_entropy(x, target), logits),
        "ce_smooth_sum": (lambda x: F.cross_entropy(x, target, label_smoothing=0.1, reduction="sum"), logits),
        "ce_none_spatial": (lambda x: F.cross_entropy(x, spatial_t, reduction="none"), spatial),
        "nll_mean": (lambda x: F.nll_loss(F.log_softmax(x, 1), target), logits),
        "mse_mean": (lambda x: F.mse_loss(x, prob), pred),
        "bce_logits_mean": (lambda x: F.binary_cross_entropy_with_logits(x, prob), pred),
        "bce_logits_none": (lambda x: F.binary_cross_entropy_with_logits(x, prob, reduction="none"), pred),
    }
    tensors["loss.target"], tensors["loss.spatial_target"], tensors["loss.prob"] = target, spatial_t, prob
    record_losses(tensors, cases, gen)
    # Class weights with ignore_index and label smoothing, per pixel; softplus's beta and
    # threshold (values on both sides of the threshold). Their own generator, so the tensors
    # above keep their values.
    gen2 = torch.Generator().manual_seed(29)
    pixels = torch.randn(2, 3, 4, 5, generator=gen2, dtype=torch.float64)
    pixel_t = torch.randint(0, 3, (2, 4, 5), generator=gen2)
    pixel_t[0, 1, :3] = -100
    weight = torch.tensor([0.2, 1.0, 3.0], dtype=torch.float64)
    wide = torch.randn(4, 6, generator=gen2, dtype=torch.float64) * 4
    more = {
        "ce_weighted_spatial_mean": (lambda x: F.cross_entropy(x, pixel_t, weight=weight, label_smoothing=0.1), pixels),
        "ce_weighted_spatial_sum": (lambda x: F.cross_entropy(x, pixel_t, weight=weight, reduction="sum"), pixels),
        "ce_weighted_spatial_none": (lambda x: F.cross_entropy(x, pixel_t, weight=weight, reduction="none"), pixels),
        "softplus_beta2_threshold5": (lambda x: F.softplus(x, beta=2, threshold=5), wide),
        "softplus_default": (lambda x: F.softplus(x), wide),
    }
    tensors["loss.pixel_target"], tensors["loss.class_weight"] = pixel_t, weight
    record_losses(tensors, more, gen2)
    # nll_loss with class weights and an ignored row (its own generator again).
    gen3 = torch.Generator().manual_seed(31)
    rows = torch.randn(6, 3, generator=gen3, dtype=torch.float64)
    row_t = torch.tensor([0, 2, 1, -100, 2, 2])
    weighted = {
        "nll_weighted_mean": (lambda x: F.nll_loss(F.log_softmax(x, 1), row_t, weight=weight), rows),
        "nll_weighted_sum": (lambda x: F.nll_loss(F.log_softmax(x, 1), row_t, weight=weight, reduction="sum"), rows),
    }
    tensors["loss.row_target"] = row_t
    record_losses(tensors, weighted, gen3)


def make_bn_relu(tensors):
    """BatchNorm2d followed by ReLU in a Sequential (ember runs the pair as one op): two training
    steps (outputs, input and parameter gradients, running statistics), then eval."""
    gen = torch.Generator().manual_seed(43)
    for dtype, tag in ((torch.float64, "f64"), (torch.float32, "f32")):
        seq = nn.Sequential(nn.BatchNorm2d(3, momentum=0.2), nn.ReLU()).to(dtype)
        randomize(seq, gen)
        key = f"bn2d_relu.{tag}."
        for pname, p in seq[0].state_dict().items():
            tensors[key + "param." + pname] = p.detach().clone()
        for step in range(2):
            x = (torch.randn(4, 3, 5, 5, generator=gen, dtype=torch.float64) + 0.3 * step).to(dtype)
            x.requires_grad_()
            out = seq(x)
            gout = torch.randn(tuple(out.shape), generator=gen, dtype=torch.float64).to(dtype)
            seq.zero_grad()
            out.backward(gout)
            s = f"{key}train{step}."
            tensors[s + "x"], tensors[s + "out"], tensors[s + "gout"] = x.detach(), out.detach(), gout
            tensors[s + "grad.x"] = x.grad
            tensors[s + "grad.weight"] = seq[0].weight.grad.clone()
            tensors[s + "grad.bias"] = seq[0].bias.grad.clone()
            tensors[s + "running_mean"] = seq[0].running_mean.clone()
            tensors[s + "running_var"] = seq[0].running_var.clone()
        seq.eval()
        x = torch.randn(2, 3, 5, 5, generator=gen, dtype=torch.float64).to(dtype)
        tensors[key + "eval.x"], tensors[key + "eval.out"] = x, seq(x).detach()


def make_optim(tensors):
    gen = torch.Generator().manual_seed(11)
    x = torch.randn(8, 4, generator=gen)
    y = torch.randn(8, 3, generator=gen)
    w0 = torch.randn(4, 3, generator=gen)
    b0 = torch.randn(3, generator=gen)
    tensors["problem.x"], tensors["problem.y"] = x, y
    tensors["problem.w0"], tensors["problem.b0"] = w0, b0
    optimizers = {
        "sgd": lambda p: torch.optim.SGD(p, lr=0.05),
        "sgd_momentum": lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01),
        "sgd_nesterov": lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9, nesterov=True),
        "adam": lambda p: torch.optim.Adam(p, lr=0.01),
        "adam_amsgrad_wd": lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), weight_decay=0.1, amsgrad=True),
        "adamw": lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.05),
        "rmsprop": lambda p: torch.optim.RMSprop(p, lr=0.01),
        "rmsprop_centered_momentum": lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.01),
    }
    for name, make in optimizers.items():
        w, b = w0.clone().requires_grad_(), b0.clone().requires_grad_()
        opt = make([w, b])
        for step in range(10):
            opt.zero_grad()
            loss = ((x @ w + b - y) ** 2).sum()
            loss.backward()
            opt.step()
            tensors[f"{name}.step{step}.w"], tensors[f"{name}.step{step}.b"] = w.detach().clone(), b.detach().clone()
    schedulers = {
        "step_lr": lambda o: torch.optim.lr_scheduler.StepLR(o, 3, gamma=0.5),
        "multistep_lr": lambda o: torch.optim.lr_scheduler.MultiStepLR(o, [2, 5, 7], gamma=0.3),
        "cosine_lr": lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 10, eta_min=0.001),
        "linear_lr": lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=0.25, total_iters=4),
        "onecycle_lr": lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=20, cycle_momentum=False),
        # a linear warm-up over 4 epochs, then a decay of 0.8 per epoch
        "lambda_lr": lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda e: min(1.0, (e + 1) / 4) * 0.8 ** max(0, e - 3)),
        "exponential_lr": lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.8),
    }
    for name, make in schedulers.items():
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=0.1)
        sched = make(opt)
        # OneCycleLR steps total_steps times (the last rate lies past the cycle's end, as a loop
        # that steps after every batch leaves it) and refuses a step more.
        epochs = 21 if name == "onecycle_lr" else 12
        lrs = []
        for epoch in range(epochs):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            if epoch + 1 < epochs:
                sched.step()
        tensors[f"{name}.lr"] = torch.tensor(lrs, dtype=torch.float64)
    # OneCycleLR with its default cycle_momentum: SGD's momentum and Adam's beta1 move too.
    cycled = {
        "onecycle_momentum_sgd": (lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), "momentum"),
        "onecycle_momentum_adam": (lambda p: torch.optim.Adam(p, lr=0.1), "betas"),
    }
    for name, (make, key) in cycled.items():
        p = torch.zeros(1, requires_grad=True)
        opt = make([p])
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=15, pct_start=0.4)
        lrs, momenta = [], []
        for epoch in range(15):
            group = opt.param_groups[0]
            lrs.append(group["lr"])
            momenta.append(group[key][0] if key == "betas" else group[key])
            opt.step()
            if epoch + 1 < 15:
                sched.step()
        tensors[f"{name}.lr"] = torch.tensor(lrs, dtype=torch.float64)
        tensors[f"{name}.momentum"] = torch.tensor(momenta, dtype=torch.float64)
    # ReduceLROnPlateau: the rate before each step(metric), then after the last.
    plateaus = {
        "plateau_min": (dict(mode="min", factor=0.5, patience=2, threshold=0.01, cooldown=1, min_lr=0.01),
                        [1.0, 0.9, 0.95, 0.91, 0.92, 0.85, 0.86, 0.87, 0.88, 0.89, 0.8, 0.81, 0.82, 0.83,
                         0.84, 0.85, 0.9, 0.95, 0.99, 1.0]),
        "plateau_max_abs": (dict(mode="max", factor=0.3, patience=1, threshold=0.05, threshold_mode="abs"),
                            [0.5, 0.6, 0.62, 0.64, 0.7, 0.71, 0.72, 0.8, 0.8, 0.81, 0.79, 0.9, 0.91, 0.92]),
    }
    for name, (kwargs, metrics) in plateaus.items():
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=0.1)
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
        lrs = [opt.param_groups[0]["lr"]]
        for m in metrics:
            opt.step()
            sched.step(m)
            lrs.append(opt.param_groups[0]["lr"])
        tensors[f"{name}.metric"] = torch.tensor(metrics, dtype=torch.float64)
        tensors[f"{name}.lr"] = torch.tensor(lrs, dtype=torch.float64)


class FashionNet(nn.Module):
    """W1's FashionNet without attention (the 'none' variant), as ../shared/peer defines it."""

    def __init__(self):
        super().__init__()
        self.block1 = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2))
        self.attn = nn.Identity()
        self.block2 = nn.Sequential(nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))

    def forward(self, x):
        return self.head(self.block2(self.attn(self.block1(x))))


def make_fashionnet():
    torch.manual_seed(0)
    model = FashionNet()
    gen = torch.Generator().manual_seed(5)
    with torch.no_grad():  # non-trivial BN statistics, as after some training
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
    tensors = {f"model.{k}": v.detach().clone() for k, v in model.state_dict().items()}
    x = torch.randn(8, 1, 28, 28, generator=gen)
    labels = torch.randint(0, 10, (8,), generator=gen)
    model.eval()
    with torch.no_grad():
        tensors["eval.out"] = model(x)
    model.train()
    xg = x.clone().requires_grad_()
    out = model(xg)
    loss = F.cross_entropy(out, labels)
    loss.backward()
    tensors.update({"x": x, "labels": labels, "train.out": out.detach(), "train.loss": loss.detach(),
                    "train.grad.x": xg.grad, "train.grad.block1.0.weight": model.block1[0].weight.grad})
    safetensors_py.save(os.path.join(OUT, "fashionnet.safetensors"), tensors)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    t = {}
    make_nn(t)
    record_layers(t, one_d_cases(), torch.Generator().manual_seed(37))
    # init.orthogonal_ after torch.manual_seed(41): a wide (3, 5) matrix with gain 2, then a
    # tall (6, 2, 2) tensor (6 rows of 4), both float64.
    torch.manual_seed(41)
    for name, shape, gain in (("wide", (3, 5), 2.0), ("tall", (6, 2, 2), 1.0)):
        w = torch.empty(shape, dtype=torch.float64)
        nn.init.orthogonal_(w, gain=gain)
        t[f"init.orthogonal_{name}"] = w
    make_bn_relu(t)
    safetensors_py.save(os.path.join(OUT, "nn.safetensors"), t)
    t = {}
    make_optim(t)
    safetensors_py.save(os.path.join(OUT, "optim.safetensors"), t)
    make_fashionnet()
    for f in sorted(os.listdir(OUT)):
        print(f, os.path.getsize(os.path.join(OUT, f)), "bytes")
