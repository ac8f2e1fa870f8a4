"""net2wider / net2deeper on Functional and Sequential models: function preserved, model grown, input untouched."""

import keras
import numpy as np
import pytest

from keras_transfer.errors import InvalidConfigError
from keras_transfer.growth import net2deeper, net2wider

L = keras.layers

WIDEN_CASES = [
    ("dense_functional", True, "dense_1"),
    ("dense_functional", True, "dense_2"),
    ("dense_functional", False, "dense_1"),
    ("dense_sequential", True, "dense_1"),
    ("dense_sequential", False, "dense_2"),
    ("conv_functional", True, "conv_1"),
    ("conv_functional", True, "conv_2"),  # BatchNorm then Flatten then Dense
    ("conv_functional", False, "conv_2"),
    ("conv_sequential", True, "conv_1"),
    ("conv_sequential", False, "conv_2"),  # GlobalAveragePooling then Dense
]


def _no_shared_variables(a, b):
    return not {id(v) for v in a.weights} & {id(v) for v in b.weights}


@pytest.mark.parametrize("kind,batchnorm,layer", WIDEN_CASES)
def test_net2wider_preserves_function(kit, kind, batchnorm, layer):
    model = kit.build(kind, batchnorm)
    x = kit.inputs(model)
    before, weights = kit.outputs(model, x), kit.snapshot(model)
    old_units = model.get_layer(layer).get_config().get("units") or model.get_layer(layer).filters
    for noise in (0.0, 0.1):
        wide = net2wider(model, layer, old_units + 5, noise=noise, seed=3)
        np.testing.assert_allclose(kit.outputs(wide, x), before, atol=1e-5)
        assert type(wide) is type(model) and wide.count_params() > model.count_params()
        grown = wide.get_layer(layer)
        assert (grown.units if isinstance(grown, L.Dense) else grown.filters) == old_units + 5
        assert _no_shared_variables(model, wide)
    # The input model is untouched.
    for old, now in zip(weights, kit.snapshot(model)):
        np.testing.assert_array_equal(old, now)
    np.testing.assert_array_equal(kit.outputs(model, x), before)


@pytest.mark.parametrize(
    "kind,batchnorm,after,inserted",
    [
        ("dense_functional", True, "bn_1", ["bn_1_deeper", "bn_1_deeper_bn"]),
        ("dense_functional", False, "dense_1", ["dense_1_deeper"]),
        ("dense_sequential", True, "relu_1", ["relu_1_deeper", "relu_1_deeper_bn", "relu_1_deeper_act"]),
        ("conv_functional", True, "pool", ["pool_deeper", "pool_deeper_bn", "pool_deeper_act"]),
        ("conv_functional", False, "flatten", ["flatten_deeper"]),
        ("conv_sequential", True, "conv_1", ["conv_1_deeper"]),
        ("conv_sequential", False, "gap", ["gap_deeper"]),
    ],
)
def test_net2deeper_inserts_identity_block(kit, kind, batchnorm, after, inserted):
    model = kit.build(kind, batchnorm)
    x = kit.inputs(model)
    before, weights = kit.outputs(model, x), kit.snapshot(model)
    deep = net2deeper(model, after)
    names = [layer.name for layer in deep.layers]
    assert names[names.index(after) + 1 : names.index(after) + 1 + len(inserted)] == inserted
    assert len(deep.layers) == len(model.layers) + len(inserted)
    np.testing.assert_allclose(kit.outputs(deep, x), before, atol=1e-5)
    assert deep.count_params() > model.count_params() and _no_shared_variables(model, deep)
    for old, now in zip(weights, kit.snapshot(model)):
        np.testing.assert_array_equal(old, now)


def test_net2deeper_copies_neighbour_kernel_size_and_relu(kit):
    model = kit.build("conv_functional", True)
    deep = net2deeper(model, "relu_1")
    new = deep.get_layer("relu_1_deeper")
    assert isinstance(new, L.Conv2D) and new.kernel_size == (3, 3) and new.strides == (1, 1)
    assert isinstance(deep.get_layer("relu_1_deeper_act"), L.ReLU)
    # After a linear convolution the new layer must stay linear to be an identity.
    linear = net2deeper(model, "conv_1").get_layer("conv_1_deeper")
    assert linear.get_config()["activation"] == "linear"
    assert net2deeper(model, "conv_2").get_layer("conv_2_deeper").get_config()["activation"] == "relu"


def test_net2deeper_noise_stays_within_documented_tolerance(kit):
    model = kit.build("dense_functional", True)
    x = kit.inputs(model)
    before = kit.outputs(model, x)
    diff = np.abs(kit.outputs(net2deeper(model, "bn_1", noise=1e-3, seed=0), x) - before).max()
    assert 0 < diff < 1e-2


def test_conv1d_and_multi_consumer_outputs(kit):
    inputs = keras.Input((9, 3))
    x = L.Conv1D(4, 3, activation="relu", name="conv")(inputs)
    x = L.GlobalMaxPooling1D(name="gmp")(x)
    shared = L.Dense(5, activation="relu", name="trunk")(x)
    a = L.Dense(2, name="task_a")(shared)
    b = L.Dense(1, name="task_b")(L.Dropout(0.5)(shared))
    model = keras.Model(inputs, [a, b])
    x = kit.inputs(model)
    before = model(x)
    for grown in (net2wider(model, "trunk", 8, noise=0.1), net2wider(model, "conv", 7), net2deeper(model, "conv")):
        for old, new in zip(before, grown(x)):
            np.testing.assert_allclose(np.asarray(new), np.asarray(old), atol=1e-5)
    assert net2wider(model, "trunk", 8).get_layer("task_b").kernel.shape == (8, 1)


def test_grown_model_saves_and_reloads(kit, tmp_path):
    model = kit.build("conv_functional", True)
    grown = net2deeper(net2wider(model, "conv_2", 9, noise=0.1, seed=0), "relu_1")
    x = kit.inputs(grown)
    path = tmp_path / "grown.keras"
    grown.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(kit.outputs(loaded, x), kit.outputs(grown, x), atol=1e-6)
    np.testing.assert_allclose(kit.outputs(loaded, x), kit.outputs(model, x), atol=1e-5)


def test_grown_model_trains_on_with_a_fresh_optimizer(kit):
    model = kit.build("dense_sequential", True)
    x, y = kit.inputs(model, n=16), np.arange(16) % 3
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy", run_eagerly=True)
    model.fit(x, y, epochs=1, verbose=0)
    old_iterations = int(model.optimizer.iterations.numpy())
    grown = net2wider(model, "dense_1", 12, noise=0.1)
    assert grown.compiled and grown.optimizer is not model.optimizer and grown.run_eagerly
    assert int(grown.optimizer.iterations.numpy()) == 0
    assert float(grown.optimizer.learning_rate.numpy()) == pytest.approx(3e-3)
    before = grown.get_layer("dense_1").get_weights()[0].copy()
    history = grown.fit(x, y, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    after = grown.get_layer("dense_1").get_weights()[0]
    assert not np.allclose(after[:, 6:], after[:, net2wider_copies(before)])  # copies diverged
    assert int(model.optimizer.iterations.numpy()) == old_iterations


def net2wider_copies(widened_kernel):
    """Index of the original column each appended column copies (they are identical right after growth)."""
    original = widened_kernel[:, :6]
    return [int(np.argmin(np.abs(original - column[:, None]).sum(axis=0))) for column in widened_kernel[:, 6:].T]


# ---------------------------------------------------------------------------------------------- errors
def test_unknown_layer_name_lists_candidates(kit):
    model = kit.build("dense_functional")
    with pytest.raises(InvalidConfigError, match=r"No layer named 'dense_9'.*dense_1"):
        net2wider(model, "dense_9", 12)
    with pytest.raises(InvalidConfigError, match="No layer named"):
        net2deeper(model, "nope")


def test_unsupported_layer_type_is_named(kit):
    model = kit.build("dense_functional")
    with pytest.raises(InvalidConfigError, match=r"BatchNormalization\. .*Supported layer types: Dense, Conv1D, Conv2"):
        net2wider(model, "bn_1", 12)


@pytest.mark.parametrize("new_units", [6, 3, 0, 7.5, True])
def test_narrowing_or_non_int_is_refused(kit, new_units):
    with pytest.raises(InvalidConfigError, match=r"only grows layers.*new_units="):
        net2wider(kit.build("dense_functional"), "dense_1", new_units)


def test_output_layer_and_merge_consumers_are_refused(kit):
    model = kit.build("dense_functional")
    with pytest.raises(InvalidConfigError, match="model's output shape"):
        net2wider(model, "out", 8)
    with pytest.raises(InvalidConfigError, match="is a model output"):
        net2deeper(model, "out")
    inputs = keras.Input((4,))
    a = L.Dense(3, name="a")(inputs)
    b = L.Dense(3, name="b")(inputs)
    merged = L.Add(name="add")([a, L.ReLU()(b)])
    model = keras.Model(inputs, L.Dense(2, name="out")(merged))
    with pytest.raises(InvalidConfigError, match=r"reaches 'add' \(Add\).*cannot adjust"):
        net2wider(model, "b", 5)
    inputs = keras.Input((4,))
    h = L.Dense(3, name="h")(inputs)
    model = keras.Model(inputs, [L.Dense(2, name="o1")(h), L.LayerNormalization(name="ln")(h)])
    with pytest.raises(InvalidConfigError, match=r"one of 2 consumers"):
        net2wider(model, "h", 5)


def test_softmax_and_bad_arguments_are_refused(kit):
    inputs = keras.Input((4,))
    h = L.Dense(3, activation="softmax", name="h")(inputs)
    model = keras.Model(inputs, L.Dense(2)(h))
    with pytest.raises(InvalidConfigError, match="softmax"):
        net2wider(model, "h", 5)
    with pytest.raises(InvalidConfigError, match="noise"):
        net2wider(kit.build("dense_functional"), "dense_1", 9, noise=-1.0)
    with pytest.raises(InvalidConfigError, match="layer name"):
        net2deeper(kit.build("dense_functional"), 3)


def test_subclassed_and_unbuilt_models_are_refused():
    class Custom(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = L.Dense(2)

        def call(self, x):
            return self.dense(x)

    with pytest.raises(InvalidConfigError, match="subclassed"):
        net2wider(Custom(), "dense", 4)
    with pytest.raises(InvalidConfigError, match="no input shape"):
        net2wider(keras.Sequential([L.Dense(3, name="d"), L.Dense(1)]), "d", 4)


def test_shared_layer_is_refused():
    inputs = keras.Input((4,))
    shared = L.Dense(4, name="shared")
    model = keras.Model(inputs, L.Dense(1)(shared(shared(inputs))))
    with pytest.raises(InvalidConfigError, match="shared layer"):
        net2wider(model, "shared", 6)
