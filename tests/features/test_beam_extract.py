"""``keras_transfer.features.extract(..., runner="beam")``: an Apache Beam pipeline (DirectRunner) writing the
cache ``extract`` writes, read back unchanged by ``FeatureCache``, ``extract`` and ``fine_tune(cache_dir=...)``."""

import json
import os

import numpy as np
import pytest
from PIL import Image

import keras_transfer as kt
from keras_transfer.errors import InvalidConfigError
from keras_transfer.testing import register_tiny_backbone

pytest.importorskip("apache_beam")


@pytest.fixture(scope="module")
def backbone():
    kt.set_seed(0)
    return kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(16, 16))


@pytest.fixture(scope="module")
def arrays():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (21, 18, 18, 3), dtype=np.uint8), np.arange(21) % 3


def _manifest(cache):
    return json.loads(open(os.path.join(cache.path, "manifest.json")).read())


def test_beam_arrays_write_the_entry_the_local_extract_and_fine_tune_hit(backbone, arrays, tmp_path):
    x, y = arrays
    beam = kt.features.extract(backbone, (x, y), tmp_path, runner="beam", shard_size=8, batch_size=5)
    assert not beam.hit and beam.num_examples == 21 and [s["rows"] for s in beam.shards] == [8, 8, 5]
    manifest = _manifest(beam)
    assert manifest["provenance"]["runner"] == "DirectRunner" and manifest["provenance"]["extractor"] == "beam"
    assert beam.check("full") is None
    # The in-process extract computes the same fingerprint and finds the Beam-built entry.
    local = kt.features.extract(backbone, (x, y), tmp_path)
    assert local.hit and local.path == beam.path
    reference = kt.features.cache.extract(backbone, (x, y), tmp_path / "reference")
    assert not reference.hit and reference.key == beam.key
    np.testing.assert_allclose(beam.load()[0], reference.load()[0], atol=1e-5)
    np.testing.assert_array_equal(beam.load()[1], y)
    probe_x, probe_f = beam.probe()
    np.testing.assert_array_equal(probe_x, x[:8])
    np.testing.assert_allclose(probe_f, reference.probe()[1], atol=1e-5)
    # fine_tune's cached head stage reads it: no second extraction (the backbone never runs on the data).
    model = kt.TransferModel(backbone, kt.ClassificationHead(3))
    calls = []
    original = type(backbone).call
    type(backbone).call = lambda self, *a, **k: (calls.append(1), original(self, *a, **k))[1]
    try:
        history = kt.fine_tune(model, (x, y), head_epochs=1, fine_tune_epochs=0, batch_size=8, cache_dir=tmp_path,
                               verbose=0)
    finally:
        type(backbone).call = original
    assert history.epoch == [0]
    assert len(calls) <= 2  # the stitch check's probe (and a build), never the 21 examples


def test_beam_folder_on_two_processes_equals_the_local_features(backbone, tmp_path):
    rng = np.random.default_rng(1)
    root = tmp_path / "photos"
    expected = []
    for label, name in enumerate(("cat", "dog")):
        (root / name).mkdir(parents=True)
        for i in range(5):
            Image.fromarray(rng.integers(0, 256, (20 + i, 24, 3), dtype=np.uint8)).save(root / name / f"{i}.png")
            expected.append((str(root / name / f"{i}.png"), label))
    options = {"runner": "DirectRunner", "direct_num_workers": 2, "direct_running_mode": "multi_processing"}
    cache = kt.features.extract(backbone, str(root), tmp_path / "cache", runner="beam", pipeline_options=options,
                                image_size=(16, 16), shard_size=4, batch_size=3)
    from keras_transfer.data.image_folder import decode_image

    x = np.stack([decode_image(path, (16, 16), 3) for path, _ in expected])
    y = np.array([label for _, label in expected])
    local = kt.features.extract(backbone, (x, y), tmp_path / "local")
    features, labels = cache.load()
    np.testing.assert_allclose(features, local.load()[0], atol=1e-5)
    np.testing.assert_array_equal(labels, y)
    assert _manifest(cache)["provenance"]["pipeline_options"] == options
    assert cache.fingerprint.keys() == local.fingerprint.keys()
    assert cache.fingerprint["input"] == {"shape": [16, 16, 3], "dtype": "uint8"}
    # Same files again: found by their listing without running the pipeline.
    again = kt.features.extract(backbone, str(root), tmp_path / "cache", runner="beam", image_size=(16, 16),
                                shard_size=4)
    assert again.hit and again.path == cache.path


@pytest.mark.parametrize("kwargs, message", [
    ({"runner": "spark"}, "runner must be 'local' or 'beam'. Received: runner='spark'"),
    ({"runner": "beam", "pipeline_options": {"runner": "SparkRuner"}}, "Unknown Beam runner 'SparkRuner'"),
    ({"runner": "beam", "pipeline_options": ["--direct_num_worker=2"]}, "Unknown Beam pipeline option(s)"),
    ({"runner": "beam", "pipeline_options": {"direct_running_mode": "threads"}}, "invalid choice: 'threads'"),
    ({"runner": "beam", "pipeline_options": {"runner": "DataflowRunner", "project": "p"}},
     "DataflowRunner needs --region, --temp_location"),
    ({"runner": "beam", "pipeline_options": ["--runner=DataflowRunner", "--project=p", "--region=r",
                                             "--temp_location=gs://b/t"]}, "cannot write to this machine's disk"),
    ({"runner": "beam", "views": 2}, "extracts the clean features only"),
    ({"runner": "local", "pipeline_options": {"runner": "DirectRunner"}}, "only apply with runner='beam'"),
])
def test_bad_runner_or_pipeline_options_fail_before_any_work(backbone, arrays, tmp_path, kwargs, message):
    with pytest.raises(InvalidConfigError) as error:
        kt.features.extract(backbone, arrays, tmp_path / "cache", **kwargs)
    assert message in str(error.value) and "Received:" in str(error.value)
    assert not (tmp_path / "cache").exists() or not os.listdir(tmp_path / "cache")


def test_beam_reads_tfrecords_of_encoded_images(backbone, tmp_path):
    import io

    import tensorflow as tf

    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (6, 16, 16, 3), dtype=np.uint8)
    for part in range(2):
        with tf.io.TFRecordWriter(str(tmp_path / f"train-{part}.tfrecord")) as writer:
            for i in range(3):
                buffer = io.BytesIO()
                Image.fromarray(images[part * 3 + i]).save(buffer, format="PNG")
                feature = {"image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[buffer.getvalue()])),
                           "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[part * 3 + i]))}
                writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
    cache = kt.features.extract(backbone, str(tmp_path / "train-*.tfrecord"), tmp_path / "cache", runner="beam",
                                image_size=(16, 16), shard_size=2)
    features, labels = cache.load()
    np.testing.assert_array_equal(labels, np.arange(6))  # file order, then record order
    np.testing.assert_allclose(features, kt.features.extract(backbone, images, tmp_path / "local").load()[0],
                               atol=1e-5)
    assert _manifest(cache)["provenance"]["source"] == "tfrecords"
