#!/usr/bin/python3
"""Writes the Keras HDF5 (.h5) and Keras 3 (.keras) import fixtures in Keras' own on-disk layout, with
h5py and numpy only (no Keras, no TensorFlow), plus a reference output for a fixed input computed from
the SAME weights by a forward pass written here (<name>.ref.json).

  /usr/bin/python3 main/engine/import/corpus/keras-h5/make.py      (Debian: apt-get install python3-h5py)

Layouts, as Keras writes them:
- Keras 2 `model.save('m.h5')` (keras/src/legacy/saving/legacy_h5_format.py): root attributes
  model_config (JSON), keras_version, backend; group model_weights with attribute layer_names (the
  model's layers; a Sequential's InputLayer is not one); one group per layer with attribute weight_names
  (trainable weights then non-trainable), each naming a dataset under that group ('dense/kernel:0' ->
  model_weights/dense/dense/kernel:0). A nested model is one layer group holding its inner layers'
  weights (all trainable ones first, then the non-trainable ones).
- Keras 3 `model.save('m.keras')` (keras/src/saving/saving_lib.py): a zip with config.json,
  metadata.json and model.weights.h5, whose variables sit at layers/<snake_case class name, made
  unique>/vars/<0..n> in the order of model.layers (nested models: layers/functional/layers/dense/vars;
  an RNN layer's cell: layers/lstm/cell/vars); recent Keras puts the layer name on each vars group as
  attribute `name`; the optimizer's variables sit under optimizer/vars.
"""
import json
import os
import zipfile

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(15)


def rand(*shape, scale=0.4):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


# ---------------------------------------------------------------- Keras configs (Keras 2 tf.keras style)

def init(name):
    return {"class_name": name, "config": {"seed": None} if name.startswith("Glorot") or name == "Orthogonal" else {}}


def dense(name, units, activation="linear"):
    return {"class_name": "Dense", "config": {"name": name, "trainable": True, "dtype": "float32", "units": units, "activation": activation, "use_bias": True,
                                              "kernel_initializer": init("GlorotUniform"), "bias_initializer": init("Zeros"), "kernel_regularizer": None, "bias_regularizer": None,
                                              "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None}}


def input_layer(name, shape, dtype="float32"):
    return {"class_name": "InputLayer", "config": {"batch_input_shape": [None, *shape], "dtype": dtype, "sparse": False, "ragged": False, "name": name}}


def conv2d(name, filters, k, padding, activation):
    return {"class_name": "Conv2D", "config": {"name": name, "trainable": True, "dtype": "float32", "filters": filters, "kernel_size": [k, k], "strides": [1, 1], "padding": padding,
                                               "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1, "activation": activation, "use_bias": True,
                                               "kernel_initializer": init("GlorotUniform"), "bias_initializer": init("Zeros"), "kernel_regularizer": None, "bias_regularizer": None,
                                               "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None}}


def batchnorm(name, axis=-1):
    return {"class_name": "BatchNormalization", "config": {"name": name, "trainable": True, "dtype": "float32", "axis": axis, "momentum": 0.99, "epsilon": 0.001, "center": True, "scale": True,
                                                           "beta_initializer": init("Zeros"), "gamma_initializer": init("Ones"), "moving_mean_initializer": init("Zeros"),
                                                           "moving_variance_initializer": init("Ones"), "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None, "gamma_constraint": None}}


def sequential(name, layers):
    return {"class_name": "Sequential", "config": {"name": name, "layers": layers}}


def bn_weights(c):
    return [("gamma", (1 + rand(c, scale=0.2))), ("beta", rand(c, scale=0.2)), ("moving_mean", rand(c, scale=0.3)), ("moving_variance", (0.5 + rng.random(c)).astype(np.float32))]


# ---------------------------------------------------------------- numpy forward passes

def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def act(x, a):
    return {"linear": lambda v: v, "relu": lambda v: np.maximum(v, 0), "tanh": np.tanh, "sigmoid": sigmoid, "softmax": softmax}[a](x)


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def conv(x, k, b, padding):
    """x: N,H,W,C; k: kh,kw,C,F (Keras layout); stride 1."""
    kh, kw = k.shape[:2]
    if padding == "same":
        x = np.pad(x, ((0, 0), ((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2), (0, 0)))
    n, h, w, _ = x.shape
    oh, ow = h - kh + 1, w - kw + 1
    out = np.zeros((n, oh, ow, k.shape[3]), np.float64)
    for i in range(kh):
        for j in range(kw):
            out += np.einsum("nhwc,cf->nhwf", x[:, i:i + oh, j:j + ow, :], k[i, j])
    return out + b


def maxpool2(x):
    n, h, w, c = x.shape
    return x[:, :h // 2 * 2, :w // 2 * 2, :].reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def bn(x, w):
    g, b, m, v = (w[k] for k in ("gamma", "beta", "moving_mean", "moving_variance"))
    return (x - m) / np.sqrt(v + 0.001) * g + b


def lstm(x, k, rk, b):
    n, t, _ = x.shape
    u = rk.shape[0]
    h = np.zeros((n, u))
    c = np.zeros((n, u))
    for s in range(t):
        z = x[:, s] @ k + h @ rk + b
        i, f, cc, o = sigmoid(z[:, :u]), sigmoid(z[:, u:2 * u]), np.tanh(z[:, 2 * u:3 * u]), sigmoid(z[:, 3 * u:])
        c = f * c + i * cc
        h = o * np.tanh(c)
    return h


def gru_reset_after(x, k, rk, b):
    """Keras GRU, reset_after=True: gates z, r, h; bias [2, 3u] (input bias, recurrent bias)."""
    n, t, _ = x.shape
    u = rk.shape[0]
    h = np.zeros((n, u))
    for s in range(t):
        xi = x[:, s] @ k + b[0]
        hr = h @ rk + b[1]
        z = sigmoid(xi[:, :u] + hr[:, :u])
        r = sigmoid(xi[:, u:2 * u] + hr[:, u:2 * u])
        hh = np.tanh(xi[:, 2 * u:] + r * hr[:, 2 * u:])
        h = z * h + (1 - z) * hh
    return h


# ---------------------------------------------------------------- writers

def str_attr(obj, name, value, as_bytes):
    obj.attrs[name] = value.encode("utf8") if as_bytes else value


def write_keras2(path, model_config, layer_weights, as_bytes=False, keras_version="2.15.0"):
    """layer_weights: [(layer group name, [(weight name 'dense/kernel:0', array)])] in model.layers order."""
    with h5py.File(path, "w") as f:
        str_attr(f, "keras_version", keras_version, as_bytes)
        str_attr(f, "backend", "tensorflow", as_bytes)
        str_attr(f, "model_config", json.dumps(model_config), as_bytes)
        mw = f.create_group("model_weights")
        mw.attrs["layer_names"] = np.array([n.encode("utf8") for n, _ in layer_weights])
        mw.attrs["backend"] = b"tensorflow"
        mw.attrs["keras_version"] = keras_version.encode("utf8")
        for name, weights in sorted(layer_weights, key=lambda lw: lw[0]):
            g = mw.create_group(name)
            g.attrs["weight_names"] = np.array([w.encode("utf8") for w, _ in weights]) if weights else np.array([], dtype=np.float64)
            for w, value in weights:
                g.create_dataset(w, data=value)


def write_keras3(path, config, layer_vars, name_attrs=True, optimizer_vars=2):
    """layer_vars: [(path under the root like 'layers/conv2d', layer name, [arrays])]."""
    tmp = path + ".weights.h5"
    with h5py.File(tmp, "w") as f:
        root = f.create_group("vars")
        if name_attrs:
            root.attrs["name"] = config["config"]["name"]
        for p, name, arrays in layer_vars:
            g = f.require_group(p).create_group("vars")
            if name_attrs:
                g.attrs["name"] = name
            for i, a in enumerate(arrays):
                g.create_dataset(str(i), data=a)
        opt = f.create_group("optimizer").create_group("vars")
        opt.create_dataset("0", data=np.array(12, dtype=np.int64))
        for i in range(1, optimizer_vars):
            opt.create_dataset(str(i), data=rand(3))
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.8.0", "date_saved": "2026-12-02@07:30:00"}))
        z.writestr("config.json", json.dumps(config))
        z.write(tmp, "model.weights.h5")
    os.remove(tmp)


def write_ref(name, inputs, outputs, dtype="float32"):
    with open(os.path.join(HERE, name + ".ref.json"), "w") as f:
        json.dump({"input": {"shape": list(inputs.shape), "dtype": dtype, "values": [float(v) for v in inputs.ravel()]},
                   "output": {"shape": list(outputs.shape), "values": [float(v) for v in outputs.ravel()]}}, f)


def k3(cfg, module="keras.layers", build=None):
    """A Keras 2 layer config in Keras 3's form (module, registered_name, DTypePolicy, batch_shape)."""
    c = dict(cfg["config"])
    if "batch_input_shape" in c:
        c["batch_shape"] = c.pop("batch_input_shape")
        c.pop("ragged", None)
    elif "dtype" in c:
        c["dtype"] = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}
    for key, v in list(c.items()):
        if isinstance(v, dict) and "class_name" in v and key.endswith("initializer"):
            c[key] = {"module": "keras.initializers", **v, "registered_name": None}
    out = {"module": module, "class_name": cfg["class_name"], "config": c, "registered_name": None}
    if build is not None:
        out["build_config"] = {"input_shape": build}
    return out


# ---------------------------------------------------------------- 1. MLP (features in, softmax out)

def mlp():
    w1, b1, w2, b2 = rand(8, 16), rand(16, scale=0.1), rand(16, 3), rand(3, scale=0.1)
    cfg = sequential("mlp", [input_layer("features", [8]), dense("hidden", 16, "relu"), dense("probs", 3, "softmax")])
    write_keras2(os.path.join(HERE, "mlp.h5"), cfg, [("hidden", [("hidden/kernel:0", w1), ("hidden/bias:0", b1)]), ("probs", [("probs/kernel:0", w2), ("probs/bias:0", b2)])])
    x = rng.standard_normal((4, 8)).astype(np.float32)
    write_ref("mlp", x, softmax(np.maximum(x @ w1 + b1, 0) @ w2 + b2))


# ---------------------------------------------------------------- 2. CNN with BatchNormalization + pooling (.h5 and .keras)

def cnn():
    k1, c1 = rand(3, 3, 3, 4), rand(4, scale=0.1)
    bnw = dict(bn_weights(4))
    k2, c2 = rand(3, 3, 4, 6), rand(6, scale=0.1)
    wd, bd = rand(2 * 2 * 6, 5, scale=0.3), rand(5, scale=0.1)
    layers = [input_layer("image", [12, 12, 3]), conv2d("conv2d", 4, 3, "same", "relu"), batchnorm("batch_normalization"),
              {"class_name": "MaxPooling2D", "config": {"name": "max_pooling2d", "trainable": True, "dtype": "float32", "pool_size": [2, 2], "padding": "valid", "strides": [2, 2], "data_format": "channels_last"}},
              conv2d("conv2d_1", 6, 3, "valid", "relu"),
              {"class_name": "MaxPooling2D", "config": {"name": "max_pooling2d_1", "trainable": True, "dtype": "float32", "pool_size": [2, 2], "padding": "valid", "strides": [2, 2], "data_format": "channels_last"}},
              {"class_name": "Flatten", "config": {"name": "flatten", "trainable": True, "dtype": "float32", "data_format": "channels_last"}},
              dense("dense", 5, "softmax")]
    cfg = sequential("cnn", layers)
    bn_list = [("batch_normalization/" + n + ":0", bnw[n]) for n in ("gamma", "beta", "moving_mean", "moving_variance")]
    write_keras2(os.path.join(HERE, "cnn.h5"), cfg, [("conv2d", [("conv2d/kernel:0", k1), ("conv2d/bias:0", c1)]), ("batch_normalization", bn_list), ("max_pooling2d", []),
                                                      ("conv2d_1", [("conv2d_1/kernel:0", k2), ("conv2d_1/bias:0", c2)]), ("max_pooling2d_1", []), ("flatten", []),
                                                      ("dense", [("dense/kernel:0", wd), ("dense/bias:0", bd)])], as_bytes=True, keras_version="2.13.1")
    x = rng.standard_normal((2, 12, 12, 3)).astype(np.float32)
    h = maxpool2(bn(np.maximum(conv(x, k1, c1, "same"), 0), bnw))
    h = maxpool2(np.maximum(conv(h, k2, c2, "valid"), 0))
    y = softmax(h.reshape(2, -1) @ wd + bd)
    write_ref("cnn", x, y)
    # The same model as a Keras 3 archive.
    shapes = [[None, 12, 12, 3], [None, 12, 12, 3], [None, 12, 12, 4], [None, 12, 12, 4], [None, 4, 4, 6], [None, 2, 2, 6], [None, 24]]
    k3layers = [k3(layers[0])] + [k3(l, build=s) for l, s in zip(layers[1:], shapes)]
    config = {"module": "keras", "class_name": "Sequential", "config": {"name": "cnn", "trainable": True, "dtype": k3(dense("x", 1))["config"]["dtype"], "layers": k3layers,
                                                                        "build_input_shape": [None, 12, 12, 3]}, "registered_name": None, "build_config": {"input_shape": [None, 12, 12, 3]},
              "compile_config": {"optimizer": "adam", "loss": "categorical_crossentropy", "metrics": ["accuracy"]}}
    bn3 = [bnw[n] for n in ("gamma", "beta", "moving_mean", "moving_variance")]
    write_keras3(os.path.join(HERE, "cnn.keras"), config, [("layers/conv2d", "conv2d", [k1, c1]), ("layers/batch_normalization", "batch_normalization", bn3),
                                                           ("layers/max_pooling2d", "max_pooling2d", []), ("layers/conv2d_1", "conv2d_1", [k2, c2]),
                                                           ("layers/max_pooling2d_1", "max_pooling2d_1", []), ("layers/flatten", "flatten", []), ("layers/dense", "dense", [wd, bd])])


# ---------------------------------------------------------------- 3. LSTM text classifier with Embedding (.h5 and .keras)

def lstm_text():
    vocab, dim, units, steps = 50, 8, 6, 10
    emb = rand(vocab, dim, scale=0.5)
    k, rk, b = rand(dim, 4 * units), rand(units, 4 * units), rand(4 * units, scale=0.1)
    wd, bd = rand(units, 2), rand(2, scale=0.1)
    lstm_cfg = {"class_name": "LSTM", "config": {"name": "lstm", "trainable": True, "dtype": "float32", "return_sequences": False, "return_state": False, "go_backwards": False,
                                                 "stateful": False, "unroll": False, "time_major": False, "units": units, "activation": "tanh", "recurrent_activation": "sigmoid",
                                                 "use_bias": True, "kernel_initializer": init("GlorotUniform"), "recurrent_initializer": init("Orthogonal"), "bias_initializer": init("Zeros"),
                                                 "unit_forget_bias": True, "kernel_regularizer": None, "recurrent_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
                                                 "kernel_constraint": None, "recurrent_constraint": None, "bias_constraint": None, "dropout": 0.0, "recurrent_dropout": 0.0, "implementation": 2}}
    emb_cfg = {"class_name": "Embedding", "config": {"name": "embedding", "trainable": True, "dtype": "float32", "batch_input_shape": [None, steps], "input_dim": vocab, "output_dim": dim,
                                                     "embeddings_initializer": {"class_name": "RandomUniform", "config": {"minval": -0.05, "maxval": 0.05, "seed": None}},
                                                     "embeddings_regularizer": None, "activity_regularizer": None, "embeddings_constraint": None, "mask_zero": False, "input_length": steps}}
    layers = [input_layer("tokens", [steps]), emb_cfg, lstm_cfg, dense("sentiment", 2, "softmax")]
    write_keras2(os.path.join(HERE, "lstm_text.h5"), sequential("lstm_text", layers),
                 [("embedding", [("embedding/embeddings:0", emb)]), ("lstm", [("lstm/lstm_cell/kernel:0", k), ("lstm/lstm_cell/recurrent_kernel:0", rk), ("lstm/lstm_cell/bias:0", b)]),
                  ("sentiment", [("sentiment/kernel:0", wd), ("sentiment/bias:0", bd)])])
    x = rng.integers(0, vocab, (3, steps)).astype(np.float32)
    y = softmax(lstm(emb[x.astype(int)], k, rk, b) @ wd + bd)
    write_ref("lstm_text", x, y)
    # Keras 3: the LSTM's variables belong to its cell (layers/lstm/cell/vars); no name attributes (Keras 3.0-3.7).
    e3 = k3(emb_cfg, build=[None, steps])
    e3["config"].pop("batch_shape", None)
    e3["config"].pop("input_length", None)
    config = {"module": "keras", "class_name": "Sequential", "config": {"name": "lstm_text", "trainable": True, "dtype": e3["config"]["dtype"],
                                                                        "layers": [k3(layers[0]), e3, k3(lstm_cfg, build=[None, steps, dim]), k3(layers[3], build=[None, units])],
                                                                        "build_input_shape": [None, steps]}, "registered_name": None, "build_config": {"input_shape": [None, steps]}}
    for key in ("time_major", "implementation"):
        config["config"]["layers"][2]["config"].pop(key)
    config["config"]["layers"][2]["config"]["seed"] = None
    path = os.path.join(HERE, "lstm_text.keras")
    write_keras3(path, config, [("layers/embedding", "embedding", [emb]), ("layers/lstm/cell", "lstm_cell", [k, rk, b]), ("layers/dense", "sentiment", [wd, bd])], name_attrs=False)


# ---------------------------------------------------------------- 4. GRU, reset_after=True (Keras' default)

def gru():
    units, steps, feats = 5, 7, 4
    k, rk, b = rand(feats, 3 * units), rand(units, 3 * units), rand(2, 3 * units, scale=0.1)
    wd, bd = rand(units, 1), rand(1, scale=0.1)
    gru_cfg = {"class_name": "GRU", "config": {"name": "gru", "trainable": True, "dtype": "float32", "return_sequences": False, "return_state": False, "go_backwards": False, "stateful": False,
                                               "unroll": False, "time_major": False, "units": units, "activation": "tanh", "recurrent_activation": "sigmoid", "use_bias": True,
                                               "kernel_initializer": init("GlorotUniform"), "recurrent_initializer": init("Orthogonal"), "bias_initializer": init("Zeros"),
                                               "kernel_regularizer": None, "recurrent_regularizer": None, "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None,
                                               "recurrent_constraint": None, "bias_constraint": None, "dropout": 0.0, "recurrent_dropout": 0.0, "implementation": 2, "reset_after": True}}
    cfg = sequential("gru_regressor", [input_layer("series", [steps, feats]), gru_cfg, dense("value", 1)])
    write_keras2(os.path.join(HERE, "gru.h5"), cfg, [("gru", [("gru/gru_cell/kernel:0", k), ("gru/gru_cell/recurrent_kernel:0", rk), ("gru/gru_cell/bias:0", b)]),
                                                      ("value", [("value/kernel:0", wd), ("value/bias:0", bd)])])
    x = rng.standard_normal((3, steps, feats)).astype(np.float32)
    write_ref("gru", x, gru_reset_after(x, k, rk, b) @ wd + bd)


# ---------------------------------------------------------------- 5. A Functional model nested in a Sequential (.h5 and .keras)

def nested():
    w1, b1 = rand(6, 8), rand(8, scale=0.1)
    bnw = dict(bn_weights(8))
    w2, b2 = rand(8, 4), rand(4, scale=0.1)
    w3, b3 = rand(4, 2), rand(2, scale=0.1)

    def node(src):
        return [[[src, 0, 0, {}]]]
    inner_layers = [dict(input_layer("inner_in", [6]), name="inner_in", inbound_nodes=[]),
                    dict(dense("inner_d1", 8, "relu"), name="inner_d1", inbound_nodes=node("inner_in")),
                    dict(batchnorm("inner_bn"), name="inner_bn", inbound_nodes=node("inner_d1")),
                    dict(dense("inner_d2", 4, "tanh"), name="inner_d2", inbound_nodes=node("inner_bn"))]
    inner = {"class_name": "Functional", "config": {"name": "base", "trainable": True, "layers": inner_layers, "input_layers": [["inner_in", 0, 0]], "output_layers": [["inner_d2", 0, 0]]}}
    cfg = sequential("nested", [input_layer("base_input", [6]), inner, dense("head", 2, "softmax")])
    # The nested model's group: its trainable weights first (every inner layer), then the non-trainable ones.
    weights = [("inner_d1/kernel:0", w1), ("inner_d1/bias:0", b1), ("inner_bn/gamma:0", bnw["gamma"]), ("inner_bn/beta:0", bnw["beta"]),
               ("inner_d2/kernel:0", w2), ("inner_d2/bias:0", b2), ("inner_bn/moving_mean:0", bnw["moving_mean"]), ("inner_bn/moving_variance:0", bnw["moving_variance"])]
    write_keras2(os.path.join(HERE, "nested.h5"), cfg, [("base", weights), ("head", [("head/kernel:0", w3), ("head/bias:0", b3)])])
    x = rng.standard_normal((4, 6)).astype(np.float32)
    h = np.tanh(bn(np.maximum(x @ w1 + b1, 0), bnw) @ w2 + b2)
    write_ref("nested", x, softmax(h @ w3 + b3))

    # Keras 3: inbound nodes as {args, kwargs} with __keras_tensor__ history; weights at layers/functional/layers/<snake>/vars.
    def node3(src, shape):
        return [{"args": [{"class_name": "__keras_tensor__", "config": {"shape": shape, "dtype": "float32", "keras_history": [src, 0, 0]}}], "kwargs": {}}]
    inner3 = [dict(k3(inner_layers[0]), name="inner_in", inbound_nodes=[]),
              dict(k3(dense("inner_d1", 8, "relu"), build=[None, 6]), name="inner_d1", inbound_nodes=node3("inner_in", [None, 6])),
              dict(k3(batchnorm("inner_bn"), build=[None, 8]), name="inner_bn", inbound_nodes=node3("inner_d1", [None, 8])),
              dict(k3(dense("inner_d2", 4, "tanh"), build=[None, 8]), name="inner_d2", inbound_nodes=node3("inner_bn", [None, 8]))]
    for l in inner3:
        l["config"].pop("ragged", None)
    dtype = k3(dense("x", 1))["config"]["dtype"]
    base3 = {"module": "keras.src.models.functional", "class_name": "Functional", "config": {"name": "base", "trainable": True, "layers": inner3, "input_layers": [["inner_in", 0, 0]],
                                                                                            "output_layers": [["inner_d2", 0, 0]]}, "registered_name": "Functional", "build_config": {"input_shape": [None, 6]}}
    config = {"module": "keras", "class_name": "Sequential", "config": {"name": "nested", "trainable": True, "dtype": dtype, "layers": [k3(input_layer("base_input", [6])), base3, k3(dense("head", 2, "softmax"), build=[None, 4])],
                                                                        "build_input_shape": [None, 6]}, "registered_name": None, "build_config": {"input_shape": [None, 6]}}
    write_keras3(os.path.join(HERE, "nested.keras"), config, [("layers/functional/layers/input_layer", "inner_in", []), ("layers/functional/layers/dense", "inner_d1", [w1, b1]),
                                                              ("layers/functional/layers/batch_normalization", "inner_bn", [bnw[n] for n in ("gamma", "beta", "moving_mean", "moving_variance")]),
                                                              ("layers/functional/layers/dense_1", "inner_d2", [w2, b2]), ("layers/functional", "base", []), ("layers/dense", "head", [w3, b3])])


# ---------------------------------------------------------------- 6. weights only (model.save_weights): refused

def weights_only():
    with h5py.File(os.path.join(HERE, "weights_only.h5"), "w") as f:
        f.attrs["layer_names"] = np.array([b"dense"])
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.15.0"
        g = f.create_group("dense")
        g.attrs["weight_names"] = np.array([b"dense/kernel:0", b"dense/bias:0"])
        g.create_dataset("dense/kernel:0", data=rand(4, 2))
        g.create_dataset("dense/bias:0", data=rand(2))


if __name__ == "__main__":
    mlp()
    cnn()
    lstm_text()
    gru()
    nested()
    weights_only()
    for f in sorted(os.listdir(HERE)):
        print(f, os.path.getsize(os.path.join(HERE, f)))
