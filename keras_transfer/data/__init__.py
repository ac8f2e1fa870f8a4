"""Data loading for transfer learning: arrays, image folders, tfds, offline datasets.

Every loader returns a `keras_transfer.data.Splits` holding `(x, y)` numpy arrays
for train / validation / test plus the class names (`image_stream` returns an `ImageStream`
of `tf.data` pipelines over file paths instead, for folders too large for memory); the `validate_*` functions are
the input checks the training loop runs before any work.
"""

from keras_transfer.data.arrays import from_arrays, subsample_per_class
from keras_transfer.data.audio import resample, synthetic_audio, validate_waveforms, wav_folder
from keras_transfer.data.image_folder import image_folder
from keras_transfer.data.image_stream import ImageStream, image_stream
from keras_transfer.data.offline import list_datasets, load_dataset
from keras_transfer.data.splits import Splits
from keras_transfer.data.text import check_text_spec, csv_text, rotten_tomatoes, validate_texts
from keras_transfer.data.tfds_source import tfds
from keras_transfer.data.validation import (
    validate_dataset,
    validate_images,
    validate_labels,
)

__all__ = [
    "Splits",
    "from_arrays",
    "subsample_per_class",
    "image_folder",
    "image_stream",
    "ImageStream",
    "tfds",
    "load_dataset",
    "list_datasets",
    "validate_images",
    "validate_labels",
    "validate_dataset",
    "validate_texts",
    "check_text_spec",
    "csv_text",
    "rotten_tomatoes",
    "validate_waveforms",
    "wav_folder",
    "resample",
    "synthetic_audio",
]
