"""fine_tune(class_weight=..., loss=...): balanced weights from the labels, per example inside the loss."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_transfer as kt
from keras_transfer import errors
from keras_transfer.models.class_weights import balanced_class_weights
from keras_transfer.models.losses import ClassWeightedLoss
from keras_transfer.testing import register_tiny_backbone

Y = np.array([0] * 12 + [1] * 4 + [2] * 2)


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(0).integers(0, 256, (len(Y), 16, 16, 1), dtype=np.uint8)


def _model(head=None):
    keras.utils.set_random_seed(4)
    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(16, 16), train_bn=False)
    return kt.TransferModel(backbone, head or kt.ClassificationHead(3, dropout=0.0))


def _fit(model, train, **options):
    return kt.fine_tune(model, train, head_epochs=1, fine_tune_epochs=0, batch_size=6, seed=0, verbose=0, **options)


def _cross_entropy(model, x):
    probabilities = model.predict(x, verbose=0)
    return -np.log(probabilities[np.arange(len(Y)), Y])


def test_balanced_weights_skip_missing_labels_and_count_soft_rows():
    np.testing.assert_allclose(balanced_class_weights(np.array([0, 0, 0, 1, -1, np.nan]), 2), [2 / 3, 2.0])
    np.testing.assert_allclose(balanced_class_weights(np.array([[0.5, 0.5], [0.0, 1.0]]), 2), [2.0, 2 / 3])


def test_auto_weights_each_example_by_its_class_in_the_trained_loss(x):
    model = _model()
    _fit(model, (x, Y), class_weight="auto")
    weights = len(Y) / (3 * np.bincount(Y))  # 0.5, 1.5, 3
    np.testing.assert_allclose(model.loss.class_weights, weights)
    expected = np.mean(weights[Y] * _cross_entropy(model, x))
    assert model.evaluate(x, Y, batch_size=len(Y), verbose=0)[0] == pytest.approx(expected, rel=1e-4)


def test_a_dataset_gives_the_same_weights_as_arrays(x):
    model = _model()
    _fit(model, tf.data.Dataset.from_tensor_slices((x, Y)).batch(6), class_weight="auto")
    np.testing.assert_allclose(model.loss.class_weights, len(Y) / (3 * np.bincount(Y)))


def test_mixup_soft_targets_are_weighted_by_their_mix(x):
    model = _model()
    _fit(model, (x, Y), class_weight={2: 4.0}, mixup=0.4)
    assert isinstance(model.loss, ClassWeightedLoss) and model.loss.class_weights == [1.0, 1.0, 4.0]
    rows = np.array([[0.25, 0.0, 0.75], [1.0, 0.0, 0.0]], "float32")
    predictions = model.predict(x[:2], verbose=0)
    plain = keras.ops.convert_to_numpy(keras.losses.categorical_crossentropy(rows, predictions))
    expected = np.mean(plain * np.array([0.25 + 3.0, 1.0]))
    assert float(model.loss(rows, predictions)) == pytest.approx(expected, rel=1e-5)


def test_focal_loss_is_keras_focal_on_one_hot_labels(x):
    model = _model()
    _fit(model, (x, Y), loss="focal", label_smoothing=0.1)
    predictions = model.predict(x, verbose=0)
    focal = keras.losses.CategoricalFocalCrossentropy(label_smoothing=0.1)
    assert float(model.loss(Y, predictions)) == pytest.approx(float(focal(np.eye(3)[Y], predictions)), rel=1e-5)


def test_focal_with_auto_weights_is_keras_focal_with_a_class_balanced_alpha(x):
    """``loss="focal", class_weight="auto"``: Keras' focal loss with a per-class ``alpha`` of the balanced weights
    (times its default 0.25), the inverse-frequency alpha Keras' docs suggest for several classes."""
    model = _model()
    _fit(model, (x, Y), loss="focal", class_weight="auto")
    weights = len(Y) / (3 * np.bincount(Y))
    predictions = model.predict(x, verbose=0)
    focal = keras.losses.CategoricalFocalCrossentropy(alpha=list(0.25 * weights))
    assert float(model.loss(Y, predictions)) == pytest.approx(float(focal(np.eye(3)[Y], predictions)), rel=1e-5)


def test_multi_task_auto_skips_missing_labels_per_task(x):
    keras.utils.set_random_seed(4)
    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(16, 16), train_bn=False)
    model = kt.MultiTaskModel(backbone, {"kind": kt.ClassificationHead(3, dropout=0.0), "size": kt.RegressionHead()})
    kind = Y.copy()
    kind[:8] = -1  # missing: the labelled ones are 4 × class 0, 4 × class 1, 2 × class 2
    size = np.linspace(0, 1, len(Y)).astype("float32")
    _fit(model, (x, {"kind": kind, "size": size}), class_weight="auto")
    losses = model._task_state.losses
    np.testing.assert_allclose(losses["kind"].class_weights, [10 / 12, 10 / 12, 10 / 6])
    assert losses["size"] is None or not isinstance(losses["size"], ClassWeightedLoss)
    predictions = model.predict(x, verbose=0)
    labelled = kind >= 0
    ce = -np.log(predictions["kind"][np.flatnonzero(labelled), kind[labelled]])
    weights = np.array(losses["kind"].class_weights)[kind[labelled]]
    task_loss = model.task_losses({"kind": kind, "size": size}, predictions)["kind"]
    assert float(task_loss) == pytest.approx(np.mean(weights * ce), rel=1e-4)


@pytest.mark.parametrize("head, options, message", [
    (kt.RegressionHead(), dict(class_weight="auto"), "class_weight needs a single-label classification head"),
    (kt.ClassificationHead(3, multi_label=True), dict(class_weight="auto"), r"\(multi_label=True\)"),
    (kt.RegressionHead(), dict(loss="focal"), "loss='focal' needs a classification head"),
    (None, dict(loss="no_such_loss"), r"Unknown loss\. Received: loss='no_such_loss'"),
    (None, dict(class_weight={5: 2.0}), r"names a class the head does not have"),
    (None, dict(class_weight={"a": "auto"}), r"needs a MultiTaskModel"),
    (None, dict(loss="huber", label_smoothing=0.1), "label_smoothing applies to the built-in losses"),
])
def test_unusable_options_are_refused_before_training(x, head, options, message):
    labels = Y.astype("float32") if isinstance(head, kt.RegressionHead) else Y
    if getattr(head, "multi_label", False):
        labels = np.eye(3)[Y]
    with pytest.raises(errors.InvalidConfigError, match=message):
        _fit(_model(head), (x, labels), **options)


def test_the_recipe_keys_are_the_same_options(tmp_path):
    from keras_transfer.recipe.validation import validate_config
    from keras_transfer.testing.tiny_recipe import tiny_recipe_config
    from keras_transfer.training.options import FineTuneOptions

    raw = tiny_recipe_config(tmp_path / "data.npz", tmp_path / "runs", class_weight={"0": "2.5"}, loss="focal",
                             ema=0.99)
    options = FineTuneOptions.from_recipe(validate_config(raw))
    assert (options.class_weight, options.loss, options.ema) == ({0: 2.5}, "focal", 0.99)
    raw["class_weight"] = "balanced"
    with pytest.raises(errors.InvalidConfigError, match=r"class_weight must be 'auto'"):
        validate_config(raw)


def test_a_weighted_model_saves_and_reloads_in_safe_mode(x, tmp_path):
    model = _model()
    _fit(model, (x, Y), class_weight="auto", loss="focal")
    model.save(tmp_path / "model.keras")
    loaded = kt.load_model(tmp_path / "model.keras")
    assert loaded.loss.class_weights == model.loss.class_weights
    np.testing.assert_allclose(loaded.evaluate(x, Y, verbose=0), model.evaluate(x, Y, verbose=0), rtol=1e-5)
