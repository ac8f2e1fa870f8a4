"""The `Splits` container returned by every data loader in `keras_transfer.data`."""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

__all__ = ["Splits"]

_SPLIT_NAMES = ("train", "validation", "test")


@dataclasses.dataclass
class Splits:
    """Train / validation / test arrays of one dataset, with its class names.

    Every loader of `keras_transfer.data` (`from_arrays`, `image_folder`, `tfds`,
    `load_dataset`) returns a `Splits`. Images are `uint8` arrays of shape
    `(N, H, W, C)` with `C` = 1 (grey) or 3 (RGB) — grey images keep one channel, the
    model maps channels itself — and labels are `int64` class ids in
    `[0, num_classes)` (arrays built by `from_arrays` keep the dtype they were given).

    Attributes:
        train: `(x, y)` tuple of numpy arrays, or `None`.
        validation: `(x, y)` tuple of numpy arrays, or `None` when no validation split
            was asked for.
        test: `(x, y)` tuple of numpy arrays, or `None`.
        class_names: `list[str]`, the name of each class id, in id order.
        skipped: `list[tuple[str, str]]`, `(path, reason)` of each input file that a
            loader skipped (unreadable images in `image_folder`); empty otherwise.
        source: `str`, a short description of where the data came from (shown by
            `summary()`).

    Examples:

    ```python
    import numpy as np
    import keras_transfer

    x = np.zeros((20, 8, 8, 1), dtype="uint8")
    y = np.arange(20) % 2
    splits = keras_transfer.data.from_arrays(x, y, test_size=0.25)
    (x_train, y_train), (x_test, y_test) = splits.train, splits.test
    print(splits.num_classes)  # 2
    print(splits.summary())
    ```
    """

    train: Optional[tuple] = None
    validation: Optional[tuple] = None
    test: Optional[tuple] = None
    class_names: list = dataclasses.field(default_factory=list)
    skipped: list = dataclasses.field(default_factory=list)
    source: str = ""

    def __post_init__(self):
        for name in _SPLIT_NAMES:
            value = getattr(self, name)
            if value is None:
                continue
            if not isinstance(value, (tuple, list)) or len(value) != 2:
                raise TypeError(
                    f"`Splits.{name}` must be an `(x, y)` tuple of arrays or None. "
                    f"Received: {name}={type(value).__name__}"
                    f"{f' of length {len(value)}' if isinstance(value, (tuple, list)) else ''}."
                )
            x, y = value
            if len(x) != len(y):
                raise ValueError(
                    f"`Splits.{name}` holds {len(x)} images but {len(y)} labels; "
                    f"they must have the same length. Received: len(x)={len(x)}, "
                    f"len(y)={len(y)}."
                )
            setattr(self, name, (x, y))
        self.class_names = [str(c) for c in self.class_names]

    @property
    def num_classes(self) -> int:
        """`int`: the number of classes (`len(class_names)`)."""
        return len(self.class_names)

    def summary(self) -> str:
        """Describe the splits in a few lines: sizes, image shape, dtype, class counts.

        Returns:
            `str`, a multi-line human-readable description.

        Examples:

        ```python
        splits = keras_transfer.data.load_dataset("digits")
        print(splits.summary())
        ```
        """
        lines = []
        title = f"Splits of {self.source}" if self.source else "Splits"
        lines.append(f"{title}: {self.num_classes} classes")
        if self.class_names:
            shown = ", ".join(self.class_names[:20])
            if self.num_classes > 20:
                shown += f", ... ({self.num_classes - 20} more)"
            lines.append(f"  classes: {shown}")
        for name in _SPLIT_NAMES:
            value = getattr(self, name)
            if value is None:
                lines.append(f"  {name:<10} -")
                continue
            x, y = value
            x_shape = tuple(np.shape(x))
            x_dtype = getattr(x, "dtype", type(x).__name__)
            counts = ""
            y_arr = np.asarray(y)
            if y_arr.ndim == 1 and y_arr.size and np.issubdtype(y_arr.dtype, np.integer):
                bincount = np.bincount(y_arr[y_arr >= 0], minlength=self.num_classes)
                counts = f", per class min {bincount.min()} / max {bincount.max()}"
            lines.append(
                f"  {name:<10} {len(y):>7} examples, x {x_shape} {x_dtype}{counts}"
            )
        if self.skipped:
            lines.append(f"  skipped {len(self.skipped)} unreadable file(s), e.g. "
                         f"{self.skipped[0][0]} ({self.skipped[0][1]})")
        return "\n".join(lines)

    def __repr__(self):
        sizes = ", ".join(
            f"{name}={len(getattr(self, name)[1]) if getattr(self, name) is not None else None}"
            for name in _SPLIT_NAMES
        )
        return f"Splits({sizes}, num_classes={self.num_classes})"
