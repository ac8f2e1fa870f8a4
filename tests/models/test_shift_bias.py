"""DistributionShiftBias: identity at init, recovers a known feature offset, L2 pull, own LR, saving."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer import errors
from keras_transfer.testing import register_tiny_backbone


def test_identity_at_init_and_affine_after():
    layer = kt.models.DistributionShiftBias(scale=True)
    x = np.random.default_rng(0).normal(size=(3, 5)).astype("float32")
    np.testing.assert_array_equal(layer(x).numpy(), x)
    layer.shift.assign(np.arange(5, dtype="float32"))
    layer.scale.assign(np.full(5, 2.0, "float32"))
    np.testing.assert_allclose(layer(x).numpy(), 2 * x + np.arange(5), rtol=1e-6)
    assert layer.magnitudes() == pytest.approx({"shift": np.sqrt(30.0), "scale": np.sqrt(5.0)})
    assert kt.layers.DistributionShiftBias is kt.models.DistributionShiftBias


def test_l2_pulls_toward_the_identity():
    layer = kt.models.DistributionShiftBias(scale=True, l2=0.5)
    layer.build((None, 2))
    assert float(sum(layer.losses)) == 0.0  # at the identity
    layer.shift.assign([1.0, 1.0])
    layer.scale.assign([3.0, 1.0])
    assert float(sum(layer.losses)) == pytest.approx(0.5 * 2 + 0.5 * 4)
    # Minimised with no data signal, the pull takes the layer back to the identity.
    import tensorflow as tf

    optimizer = keras.optimizers.SGD(0.5)
    for _ in range(5):
        with tf.GradientTape() as tape:
            loss = sum(layer.losses)
        optimizer.apply(tape.gradient(loss, layer.trainable_variables), layer.trainable_variables)
    assert np.abs(layer.shift.numpy()).max() < 0.1
    assert np.abs(layer.scale.numpy() - 1.0).max() < 0.1


def test_bad_arguments():
    with pytest.raises(errors.InvalidConfigError, match="l2=-1"):
        kt.models.DistributionShiftBias(l2=-1)
    with pytest.raises(errors.InvalidConfigError, match="lr_multiplier=0"):
        kt.models.DistributionShiftBias(lr_multiplier=0)


def test_recovers_a_known_feature_offset_and_the_accuracy():
    """Frozen features (as a frozen backbone gives) + a known per-feature offset on the target domain."""
    rng = np.random.default_rng(0)
    dim, n_classes = 8, 10
    means = rng.normal(0, 2.0, (n_classes, dim))

    def sample(n, offset=0.0):
        y = rng.integers(0, n_classes, n)
        return (means[y] + rng.normal(0, 1, (n, dim)) + offset).astype("float32"), y

    head = kt.ClassificationHead(n_classes, dropout=0.0)
    shift = kt.models.DistributionShiftBias(lr_multiplier=10.0)
    model = keras.Sequential([keras.Input((dim,)), shift, head])
    shift.trainable = False  # source training: head only
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(*sample(1500), epochs=8, batch_size=100, verbose=0)
    source_accuracy = model.evaluate(*sample(2000), verbose=0)[1]

    offset = rng.normal(0, 1.5, dim).astype("float32")
    target_test = sample(2000, offset)
    shifted_accuracy = model.evaluate(*target_test, verbose=0)[1]
    assert shifted_accuracy < source_accuracy - 0.05  # the offset hurts

    shift.trainable, head.trainable = True, False  # target adaptation: the shift layer only
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(*sample(1500, offset), epochs=8, batch_size=100, verbose=0)
    recovered = shift.shift.numpy()
    assert np.corrcoef(recovered, -offset)[0, 1] >= 0.9
    assert model.evaluate(*target_test, verbose=0)[1] >= source_accuracy - 0.02


def test_transfer_model_with_shift_bias_trains_saves_and_gets_its_own_rate(tmp_path, tiny_images):
    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(32, 32))
    model = kt.TransferModel(backbone, kt.ClassificationHead(3, dropout=0.0), shift_bias={"scale": True, "lr_multiplier": 10.0})
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    rates = kt.optimizers.get_learning_rates(model.optimizer)
    assert rates["shift_output"] == pytest.approx(1e-2)
    x, y = tiny_images
    model.fit(x, y, epochs=1, batch_size=6, verbose=0)
    assert model.shift.magnitudes()["shift"] > 0  # it trained
    path = tmp_path / "shift.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(loaded.shift.shift.numpy(), model.shift.shift.numpy())
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded(x[:4])), keras.ops.convert_to_numpy(model(x[:4])))
    assert kt.optimizers.get_learning_rates(loaded.optimizer) == kt.optimizers.get_learning_rates(model.optimizer)

    # Through the discriminative optimizer: backbone groups below the head, the shift above it.
    model.backbone.set_mode("full")
    model.compile(optimizer=kt.optimizers.discriminative(model, "adam", lr=1e-3))
    rates = kt.optimizers.get_learning_rates(model.optimizer)
    assert rates["shift_output"] == pytest.approx(1e-2)
    assert rates["head"] == pytest.approx(1e-3)
    assert max(rates[g.name] for g in model.backbone.layer_groups) < 1e-3


def test_plain_transfer_model_config_is_unchanged(tiny_model):
    assert tiny_model.shift is None and "shift_bias" not in tiny_model.get_config()
