"""GradualUnfreezing: schedules, the resume guard, the state file."""

import pytest

from keras_transfer.callbacks import GradualUnfreezing
from keras_transfer.errors import InvalidConfigError


def test_schedules():
    policy = GradualUnfreezing()
    policy.bind(start_epoch=3, max_groups=4, end_epoch=10)
    assert [policy.groups_at(e) for e in range(3, 9)] == [1, 2, 3, 4, 4, 4]
    assert policy.unfrozen_at(["a", "b", "c", "d"]) == {"d": 3, "c": 4, "b": 5, "a": 6}
    every = GradualUnfreezing(every=2)
    every.bind(0, 3)
    assert [every.groups_at(e) for e in range(6)] == [1, 1, 2, 2, 3, 3]
    listed = GradualUnfreezing(schedule=[2, 2, 5])
    listed.bind(0, 3)
    assert [listed.groups_at(e) for e in range(5)] == [2, 2, 3, 3, 3]
    stepped = GradualUnfreezing(schedule={0: 1, 3: 3})
    stepped.bind(0, 6)
    assert [stepped.groups_at(e) for e in range(5)] == [1, 1, 1, 3, 3]


@pytest.mark.parametrize("kwargs", [{"every": 0}, {"schedule": []}, {"schedule": [1, -1]}, {"schedule": "fast"}])
def test_bad_schedules(kwargs):
    with pytest.raises(InvalidConfigError):
        GradualUnfreezing(**kwargs)


def test_resumed_fit_with_a_refrozen_backbone_raises_before_training(tiny_model, tiny_images, tmp_path):
    """Lightning's resume bug (silent re-freezing) cannot happen: the guard stops the epoch before any batch."""
    x, y = tiny_images
    policy = GradualUnfreezing(state_path=tmp_path / "unfreeze.json")
    policy.bind(start_epoch=0, max_groups=3)
    tiny_model.backbone.set_mode(policy.groups_at(2))  # resumed at epoch 2: 3 groups
    tiny_model.compile(optimizer="adam")
    tiny_model.fit(x, y, batch_size=9, initial_epoch=2, epochs=3, verbose=0, callbacks=[policy])
    assert GradualUnfreezing.load_state(tmp_path / "unfreeze.json") == {
        "epoch": 3, "unfrozen_groups": 3, "start_epoch": 0, "max_groups": 3}
    tiny_model.backbone.freeze()  # what a resume that rebuilds "stage 1" would do
    tiny_model.compile(optimizer="adam")
    before = [v.numpy().copy() for v in tiny_model.trainable_variables]
    with pytest.raises(InvalidConfigError, match="should train the last 3 layer groups"):
        tiny_model.fit(x, y, batch_size=9, initial_epoch=2, epochs=3, verbose=0, callbacks=[policy])
    assert all((v.numpy() == b).all() for v, b in zip(tiny_model.trainable_variables, before))
