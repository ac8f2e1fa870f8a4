"""FineTuneOptions: every fine_tune option declared once (default, check, help, recipe key)."""

import inspect

import pytest

from keras_transfer import errors
from keras_transfer.training.options import FineTuneOptions

DEFAULTS = dict(head_epochs=5, fine_tune_epochs=5, unfreeze="all", head_lr=None, fine_tune_lr=None, lr="fixed",
                lr_factor=None, optimizer="adam", batch_size=32, callbacks=None, train_bn=None, verbose="auto",
                cache_dir=None, mixup=None, cutmix=None, checkpoint_dir=None, seed=None, nan_guard=True,
                label_smoothing=None, loss=None, class_weight=None, ema=None, unlabeled=None, adapt=None,
                adapt_epochs=3)


def test_the_defaults_are_fine_tunes():
    assert FineTuneOptions.create().as_kwargs() == DEFAULTS


@pytest.mark.parametrize("options, message", [
    (dict(head_epochs=-1), r"head_epochs must be an int ≥ 0\. Received: head_epochs=-1\."),
    (dict(fine_tune_epochs=1.5), r"fine_tune_epochs must be an int ≥ 0\. Received: fine_tune_epochs=1\.5\."),
    (dict(batch_size=0), r"batch_size must be a positive int\. Received: batch_size=0\."),
    (dict(head_lr=0), r"head_lr must be a positive finite float\. Received: head_lr=0\."),
    (dict(fine_tune_lr=float("nan")), r"fine_tune_lr must be a positive finite float\. Received: fine_tune_lr=nan"),
    (dict(lr="fast"), r"Unknown learning-rate policy\. Received: lr='fast'"),
    (dict(lr_factor=1), r"lr_factor must be a float > 1 .*Received: lr_factor=1\."),
    (dict(unfreeze="most"), r"Unknown unfreeze policy\. Received: unfreeze='most'"),
    (dict(unfreeze=-1), r"Unknown unfreeze policy\. Received: unfreeze=-1\. Use .*an int N ≥ 0"),
    (dict(unfreeze=2.5), r"Unknown unfreeze policy\. Received: unfreeze=2\.5\."),
    (dict(lr_factor=float("inf")), r"lr_factor must be a float > 1 .*Received: lr_factor=inf\."),
    (dict(optimizer=3), r"optimizer must be a Keras optimizer name .*Received: optimizer=3\."),
    (dict(mixup=-0.5), r"mixup must be the Beta\(alpha, alpha\) parameter .*Received: mixup=-0\.5\."),
    (dict(cutmix="lots"), r"cutmix must be the Beta\(alpha, alpha\) parameter .*Received: cutmix='lots'\."),
    (dict(seed=-1), r"seed must be an int in \[0, 2\*\*32\) or None\. Received: seed=-1"),
    (dict(nan_guard="yes"), r"nan_guard must be True or False\. Received: nan_guard='yes'\."),
    (dict(label_smoothing=1.0), r"label_smoothing must be .*Received: label_smoothing=1\.0\."),
])
def test_each_check_keeps_its_message(options, message):
    with pytest.raises(errors.InvalidConfigError, match=message):
        FineTuneOptions.create(**options)


def test_what_the_checks_accept():
    import keras

    from keras_transfer.callbacks import GradualUnfreezing

    policy = GradualUnfreezing()
    options = FineTuneOptions.create(unfreeze=policy, optimizer=keras.optimizers.SGD(0.1), mixup=1, lr_factor=2)
    assert options.unfreeze is policy and (options.mixup, options.lr_factor) == (1.0, 2.0)
    for unfreeze in ("all", "none", "full", "frozen", "gradual", "last:0", "last:3", 0, 4, None):
        assert FineTuneOptions.create(unfreeze=unfreeze).unfreeze == unfreeze
    assert FineTuneOptions.create(optimizer=lambda rate: keras.optimizers.Adam(rate)).optimizer(0.1) is not None
    with pytest.raises(errors.InvalidConfigError, match="Unknown unfreeze policy. Received: unfreeze=True"):
        FineTuneOptions.create(unfreeze=True)  # never an int here


def test_an_unknown_option_is_a_type_error_and_options_are_frozen():
    with pytest.raises(TypeError, match="unexpected keyword argument 'head_epoch'"):
        FineTuneOptions.create(head_epoch=1)
    with pytest.raises(Exception):
        FineTuneOptions.create().head_epochs = 2


def test_checkpoint_settings_name_label_smoothing_only_when_set():
    assert "label_smoothing" not in FineTuneOptions.create().run_settings()  # older checkpoints still resume
    assert FineTuneOptions.create(label_smoothing=0.1).run_settings()["label_smoothing"] == 0.1


def test_fine_tunes_docstring_lists_every_option_from_here():
    import keras_transfer as kt

    doc = inspect.getdoc(kt.fine_tune)
    for name in FineTuneOptions.model_fields:
        assert f"{name}: " in doc, name
