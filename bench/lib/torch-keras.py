"""A PyTorch nn.Module built from a tfjs Layers model (model.json + weight
shards) holding a Keras functional topology, with the model's own weights, so
PyTorch can be timed on the very model modelpress fine-tunes. Used by
bench/lib/torch-finetune.py; not a test.

    from torch_keras import load_keras_model   # (via importlib: the file name has a dash)
    model = load_keras_model("examples/pretrained/mobilenet-v2-mnist")

Generic over the graph (layers wired by their inbound_nodes, run in the
config's order, which Keras writes topologically), but only for the layer
classes in LAYERS: the ones a Keras MobileNetV2 and small Keras CNNs/MLPs
use. Anything else stops with the layer's name and class rather than
building a different model.

Layout: Keras is channels-last, torch convolutions are channels-first, so
the input is transposed once to NCHW and every 4-D tensor stays NCHW inside;
layers with a channel axis (BatchNormalization, Softmax, Concatenate,
Flatten) are written for that. A 4-D model output goes back to NHWC so the
outputs compare element for element with tfjs.

Weights: tfjs stores affine-quantized weights as uint8/uint16 codes with a
per-weight min and scale; they are dequantized as tfjs does
(value = q * scale + min, computed in double, stored as float32), so both
frameworks start from identical float32 weights. Kernels are moved to torch's
layout: Conv2D HWIO -> OIHW, DepthwiseConv2D HWC1 -> C1HW (groups = channels),
Dense [in, out] -> [out, in].
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class KerasModelError(Exception):
    """A model.json this builder cannot turn into the same torch model; the message says which layer and why."""


# ---------------------------------------------------------------- weights


def read_weights(model_dir, manifest):
    """{weight name: float32 ndarray} from the weight shards, dequantized as tfjs io does."""
    sizes = {"float32": 4, "int32": 4, "uint8": 1, "uint16": 2, "float16": 2, "bool": 1}
    out = {}
    for group in manifest:
        try:
            buf = b"".join(open(os.path.join(model_dir, p), "rb").read() for p in group["paths"])
        except OSError as e:
            raise KerasModelError(f"weight shard: {e}; the manifest's paths are relative to the model.json's directory") from None
        offset = 0
        for spec in group["weights"]:
            n = int(np.prod(spec["shape"], dtype=np.int64))
            q = spec.get("quantization")
            stored = q["dtype"] if q else spec["dtype"]
            if stored not in sizes:
                raise KerasModelError(f"weight {spec['name']}: stored dtype {stored} is not one of {sorted(sizes)}")
            nbytes = n * sizes[stored]
            raw = buf[offset:offset + nbytes]
            if len(raw) != nbytes:
                raise KerasModelError(f"weight {spec['name']}: the shards end {nbytes - len(raw)} bytes short; the manifest and the .bin files disagree")
            offset += nbytes
            if q and q["dtype"] in ("uint8", "uint16"):
                codes = np.frombuffer(raw, dtype=np.uint8 if q["dtype"] == "uint8" else "<u2")
                values = (codes.astype(np.float64) * q["scale"] + q["min"]).astype(np.float32)
            elif q and q["dtype"] == "float16":
                values = np.frombuffer(raw, dtype="<f2").astype(np.float32)
            else:
                values = np.frombuffer(raw, dtype={"float32": "<f4", "int32": "<i4", "uint8": np.uint8, "uint16": "<u2", "float16": "<f2", "bool": np.uint8}[stored]).astype(np.float32)
            out[spec["name"]] = values.reshape(spec["shape"])
    return out


# ---------------------------------------------------------------- layers


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _same_padding(size, kernel, stride, dilation):
    """TensorFlow's 'same': total padding for this input size, the extra pixel after (bottom/right)."""
    effective = (kernel - 1) * dilation + 1
    total = max((math.ceil(size / stride) - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def _activation(name, where):
    acts = {"linear": None, "relu": nn.ReLU(), "relu6": nn.ReLU6(), "sigmoid": nn.Sigmoid(), "tanh": nn.Tanh(), "softmax": _Softmax(-1)}
    if name not in acts:
        raise KerasModelError(f"{where}: activation {name!r} is not supported (supported: {', '.join(acts)})")
    return acts[name]


class _Softmax(nn.Module):
    """Keras Softmax over `axis` (channels-last numbering), on a tensor that may be NCHW."""

    def __init__(self, axis):
        super().__init__()
        self.axis = axis

    def forward(self, x):
        axis = 1 if x.dim() == 4 and self.axis in (-1, 3) else self.axis
        return torch.softmax(x, dim=axis)


class _Conv(nn.Module):
    """Conv2D or DepthwiseConv2D with TensorFlow's padding: 'same' pads asymmetrically when the total is odd."""

    def __init__(self, cfg, in_channels, weights, depthwise, where):
        super().__init__()
        kh, kw = _pair(cfg["kernel_size"])
        self.stride = _pair(cfg["strides"])
        self.dilation = _pair(cfg.get("dilation_rate", 1))
        self.padding = cfg["padding"]
        if self.padding not in ("same", "valid"):
            raise KerasModelError(f"{where}: padding {self.padding!r} is not supported (same, valid)")
        if cfg.get("data_format", "channels_last") != "channels_last":
            raise KerasModelError(f"{where}: data_format {cfg['data_format']} is not supported (channels_last)")
        if depthwise:
            mult = cfg.get("depth_multiplier", 1)
            k = weights.pop("depthwise_kernel")  # [kh, kw, C, mult]
            out_channels, groups = in_channels * mult, in_channels
            # HWCM -> (C*M)1HW: torch's grouped conv with groups = C orders outputs channel-major, as tfjs does.
            kernel = k.transpose(2, 3, 0, 1).reshape(out_channels, 1, kh, kw)
        else:
            if cfg.get("groups", 1) != 1:
                raise KerasModelError(f"{where}: grouped Conv2D (groups {cfg['groups']}) is not supported")
            k = weights.pop("kernel")  # HWIO
            out_channels, groups = cfg["filters"], 1
            kernel = k.transpose(3, 2, 0, 1)
        self.conv = nn.Conv2d(in_channels, out_channels, (kh, kw), stride=self.stride, dilation=self.dilation, groups=groups, bias=cfg.get("use_bias", True))
        with torch.no_grad():
            self.conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel)))
            if cfg.get("use_bias", True):
                self.conv.bias.copy_(torch.from_numpy(weights.pop("bias")))
        self.kernel = (kh, kw)
        # A symmetric 'same' (stride 1, odd effective kernel) goes into the conv itself; only odd totals need F.pad.
        self.fixed = None
        if self.padding == "valid":
            self.fixed = (0, 0)
        elif self.stride == (1, 1) and all(((k - 1) * d) % 2 == 0 for k, d in zip(self.kernel, self.dilation)):
            self.fixed = tuple(((k - 1) * d) // 2 for k, d in zip(self.kernel, self.dilation))
        if self.fixed is not None:
            self.conv.padding = self.fixed
        self.activation = _activation(cfg.get("activation", "linear"), where)

    def forward(self, x):
        if self.fixed is None:
            top, bottom = _same_padding(x.shape[2], self.kernel[0], self.stride[0], self.dilation[0])
            left, right = _same_padding(x.shape[3], self.kernel[1], self.stride[1], self.dilation[1])
            x = F.pad(x, (left, right, top, bottom))
        x = self.conv(x)
        return self.activation(x) if self.activation is not None else x


class _Dense(nn.Module):
    def __init__(self, cfg, in_features, weights, where):
        super().__init__()
        self.linear = nn.Linear(in_features, cfg["units"], bias=cfg.get("use_bias", True))
        with torch.no_grad():
            self.linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(weights.pop("kernel").T)))
            if cfg.get("use_bias", True):
                self.linear.bias.copy_(torch.from_numpy(weights.pop("bias")))
        self.activation = _activation(cfg.get("activation", "linear"), where)

    def forward(self, x):
        if x.dim() == 4:  # Dense on a 4-D tensor acts on the last (channels-last) axis
            x = self.linear(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        else:
            x = self.linear(x)
        return self.activation(x) if self.activation is not None else x


class _BatchNorm(nn.Module):
    """Keras BatchNormalization on the channel axis; Keras' momentum m keeps m of the old statistic, torch's keeps 1 - m."""

    def __init__(self, cfg, channels, weights, where):
        super().__init__()
        if cfg.get("axis", -1) not in (-1, 3, [-1], [3]):
            raise KerasModelError(f"{where}: axis {cfg['axis']} is not supported (the last, channel axis)")
        self.bn = nn.BatchNorm2d(channels, eps=cfg["epsilon"], momentum=1 - cfg["momentum"], affine=True)
        with torch.no_grad():
            self.bn.weight.copy_(torch.from_numpy(weights.pop("gamma")) if cfg.get("scale", True) else torch.ones(channels))
            self.bn.bias.copy_(torch.from_numpy(weights.pop("beta")) if cfg.get("center", True) else torch.zeros(channels))
            self.bn.running_mean.copy_(torch.from_numpy(weights.pop("moving_mean")))
            self.bn.running_var.copy_(torch.from_numpy(weights.pop("moving_variance")))
        # Keras without scale/center has no gamma/beta variables: keep them fixed here too.
        self.bn.weight.requires_grad_(cfg.get("scale", True))
        self.bn.bias.requires_grad_(cfg.get("center", True))

    def forward(self, x):
        if x.dim() == 2:
            return F.batch_norm(x, self.bn.running_mean, self.bn.running_var, self.bn.weight, self.bn.bias, self.training, self.bn.momentum, self.bn.eps)
        return self.bn(x)


class _Lambda(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*xs)


def _relu_layer(cfg, where):
    max_value, slope, threshold = cfg.get("max_value"), cfg.get("negative_slope", 0.0) or 0.0, cfg.get("threshold", 0.0) or 0.0
    if slope or threshold:
        raise KerasModelError(f"{where}: ReLU with negative_slope/threshold is not supported")
    if max_value is None:
        return nn.ReLU()
    return nn.ReLU6() if max_value == 6 else nn.Hardtanh(0.0, float(max_value))


def _zero_padding(cfg, where):
    p = cfg["padding"]
    if isinstance(p, int):
        p = [[p, p], [p, p]]
    elif isinstance(p[0], int):
        p = [[p[0], p[0]], [p[1], p[1]]]
    (top, bottom), (left, right) = p
    return _Lambda(lambda x: F.pad(x, (left, right, top, bottom)))


def _flatten_channels_last(x):
    # Keras flattens NHWC; flattening NCHW would order the features differently for the next Dense.
    return torch.flatten(x.permute(0, 2, 3, 1) if x.dim() == 4 else x, 1)


def _global_average(cfg):
    keep = cfg.get("keepdims", False)
    return _Lambda(lambda x: x.mean(dim=(2, 3), keepdim=keep))


def _concatenate(cfg):
    axis = cfg.get("axis", -1)
    return _Lambda(lambda *xs: torch.cat(xs, dim=1 if xs[0].dim() == 4 and axis in (-1, 3) else axis))


def _rescaling(cfg):
    scale, offset = cfg["scale"], cfg.get("offset", 0.0)
    return _Lambda(lambda x: x * scale + offset)


# The Keras classes this builder maps, with a note of what each becomes.
LAYERS = {
    "InputLayer": "the model input (NHWC -> NCHW once)",
    "Conv2D": "nn.Conv2d, TensorFlow 'same'/'valid' padding, HWIO -> OIHW",
    "DepthwiseConv2D": "nn.Conv2d with groups = channels, HWCM -> (CM)1HW",
    "BatchNormalization": "nn.BatchNorm2d, momentum 1 - m",
    "ReLU": "nn.ReLU / nn.ReLU6 (max_value 6) / nn.Hardtanh",
    "Activation": "relu, relu6, sigmoid, tanh, softmax, linear",
    "ZeroPadding2D": "F.pad",
    "Add": "sum of the inputs",
    "Concatenate": "torch.cat on the channel axis",
    "GlobalAveragePooling2D": "mean over H, W",
    "Flatten": "flatten in NHWC order",
    "Dropout": "nn.Dropout",
    "Dense": "nn.Linear, [in, out] -> [out, in], with its activation",
    "Softmax": "softmax on the Keras axis",
    "Rescaling": "x * scale + offset",
}


class KerasGraph(nn.Module):
    """The Keras functional graph as a torch module: forward(x NHWC) -> the output (NHWC if 4-D)."""

    def __init__(self, model_config, weights):
        super().__init__()
        if model_config.get("class_name") not in ("Functional", "Model"):
            raise KerasModelError(f"expected a Keras functional model (class_name Functional or Model), got {model_config.get('class_name')!r}")
        config = model_config["config"]
        self.layers_ = nn.ModuleDict()
        self.order = []  # (layer name, [input layer names])
        self.inputs = [i[0] for i in config["input_layers"]]
        self.outputs = [o[0] for o in config["output_layers"]]
        by_layer = {}
        for name, value in weights.items():
            layer, _, var = name.rpartition("/")
            by_layer.setdefault(layer, {})[var] = value
        shapes = {}  # layer name -> output shape, channels-last, without the batch axis
        for layer in config["layers"]:
            name, cls, cfg = layer["name"], layer["class_name"], layer["config"]
            where = f"layer {name!r} ({cls})"
            if cls not in LAYERS:
                raise KerasModelError(f"{where}: this class is not supported; supported: {', '.join(LAYERS)}")
            nodes = layer["inbound_nodes"]
            if len(nodes) > 1:
                raise KerasModelError(f"{where}: called {len(nodes)} times (a shared layer); only layers called once are supported")
            inbound = [n[0] for n in nodes[0]] if nodes else []
            missing = [i for i in inbound if i not in shapes]
            if missing:
                raise KerasModelError(f"{where}: its inputs {missing} come later in the config; expected the layers in topological order")
            own = by_layer.pop(name, {})
            in_shape = shapes[inbound[0]] if inbound else None
            if cls == "InputLayer":
                shape = list(cfg["batch_input_shape"][1:])
                module = None
            elif cls in ("Conv2D", "DepthwiseConv2D"):
                module = _Conv(cfg, in_shape[-1], own, cls == "DepthwiseConv2D", where)
                shape = self._conv_shape(in_shape, module)
            elif cls == "BatchNormalization":
                module, shape = _BatchNorm(cfg, in_shape[-1], own, where), in_shape
            elif cls == "ReLU":
                module, shape = _relu_layer(cfg, where), in_shape
            elif cls == "Activation":
                module, shape = _activation(cfg["activation"], where) or nn.Identity(), in_shape
            elif cls == "ZeroPadding2D":
                module = _zero_padding(cfg, where)
                p = cfg["padding"]
                p = [[p, p], [p, p]] if isinstance(p, int) else ([[p[0], p[0]], [p[1], p[1]]] if isinstance(p[0], int) else p)
                shape = [in_shape[0] + sum(p[0]), in_shape[1] + sum(p[1]), in_shape[2]]
            elif cls == "Add":
                module, shape = _Lambda(lambda *xs: sum(xs[1:], xs[0])), in_shape
            elif cls == "Concatenate":
                module = _concatenate(cfg)
                shape = in_shape[:-1] + [sum(shapes[i][-1] for i in inbound)]
            elif cls == "GlobalAveragePooling2D":
                module = _global_average(cfg)
                shape = [1, 1, in_shape[-1]] if cfg.get("keepdims", False) else [in_shape[-1]]
            elif cls == "Flatten":
                module, shape = _Lambda(_flatten_channels_last), [int(np.prod(in_shape))]
            elif cls == "Dropout":
                module, shape = nn.Dropout(cfg["rate"]), in_shape
            elif cls == "Dense":
                module, shape = _Dense(cfg, in_shape[-1], own, where), in_shape[:-1] + [cfg["units"]]
            elif cls == "Softmax":
                module, shape = _Softmax(cfg.get("axis", -1)), in_shape
            elif cls == "Rescaling":
                module, shape = _rescaling(cfg), in_shape
            if own:
                raise KerasModelError(f"{where}: weights {sorted(own)} were not used; this builder would run a different model")
            shapes[name] = shape
            if module is not None:
                self.layers_[name] = module
            self.order.append((name, inbound))
        if by_layer:
            raise KerasModelError(f"weights of layers not in the topology: {sorted(by_layer)}")
        self.output_shapes = [shapes[o] for o in self.outputs]

    @staticmethod
    def _conv_shape(in_shape, conv):
        h, w = in_shape[0], in_shape[1]
        out = []
        for size, k, s, d in zip((h, w), conv.kernel, conv.stride, conv.dilation):
            out.append(math.ceil(size / s) if conv.padding == "same" else (size - (k - 1) * d - 1) // s + 1)
        return out + [conv.conv.out_channels]

    def forward(self, *inputs):
        values = {}
        for name, x in zip(self.inputs, inputs):
            values[name] = x.permute(0, 3, 1, 2) if x.dim() == 4 else x
        for name, inbound in self.order:
            if name in self.layers_:
                values[name] = self.layers_[name](*(values[i] for i in inbound))
        outs = [values[o].permute(0, 2, 3, 1) if values[o].dim() == 4 else values[o] for o in self.outputs]
        return outs[0] if len(outs) == 1 else outs


def load_keras_model(model_dir):
    """The torch module of a tfjs Layers model directory (model.json with a Keras functional topology)."""
    path = os.path.join(model_dir, "model.json")
    try:
        with open(path) as f:
            model = json.load(f)
    except (OSError, ValueError) as e:
        raise KerasModelError(f"{path}: cannot read a model.json ({e}); expected the directory of a tfjs Layers model") from None
    if model.get("format") not in (None, "layers-model"):
        raise KerasModelError(f"{path}: format {model.get('format')!r}; expected a tfjs Layers model (layers-model)")
    topology = model["modelTopology"]
    config = topology.get("model_config", topology)
    try:
        return KerasGraph(config, read_weights(model_dir, model["weightsManifest"]))
    except KerasModelError as e:
        raise KerasModelError(f"{path}: {e}") from None
