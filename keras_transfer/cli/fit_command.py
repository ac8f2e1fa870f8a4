"""``keras-transfer fit``: a whole transfer recipe from one config file (or two flags) into a run folder.

Forms::

    keras-transfer fit CONFIG.yaml [--set key.path=value ...]      # a config file, with overrides
    keras-transfer fit --backbone mobilenet_v2 --data DIR          # the common case, no file
    keras-transfer fit --resume runs/NAME-TIMESTAMP                # continue an interrupted run
    keras-transfer fit runs/NAME-TIMESTAMP/config.yaml             # reproduce a run in a new folder
    keras-transfer fit CONFIG.yaml --check                         # validate only, print the resolved config
"""

import os
import re

__all__ = ["register", "run", "data_section"]

_TEXT_DATASETS = ("rotten_tomatoes",)


def data_section(source: str) -> dict:
    """The config's ``data`` section for ``--data SOURCE``.

    An offline dataset name (``animal_mnist``, ``mnist5k``, ``digits``, ``rotten_tomatoes``), ``tfds:NAME``,
    a ``.csv`` file (columns ``text`` and ``label``), a ``.npz`` file (``x``, ``y``), a folder of class
    sub-folders holding ``.wav`` files, or a folder of class sub-folders of images.

    Examples:
    >>> keras_transfer.cli.fit_command.data_section("digits")
    {'kind': 'dataset', 'name': 'digits'}
    >>> keras_transfer.cli.fit_command.data_section("tfds:cifar10")
    {'kind': 'tfds', 'name': 'cifar10'}
    """
    from keras_transfer.data import list_datasets

    if source in list_datasets() or source in _TEXT_DATASETS:
        return {"kind": "dataset", "name": source}
    if source.startswith("tfds:"):
        return {"kind": "tfds", "name": source[len("tfds:"):]}
    path = os.path.abspath(os.path.expanduser(source))
    lower = source.lower()
    if lower.endswith((".csv", ".csv.gz", ".csv.bz2")):
        return {"kind": "csv_text", "path": path}
    if lower.endswith(".npz"):
        return {"kind": "arrays", "path": path}
    if os.path.isdir(path):
        for root, _, files in os.walk(path):
            if any(f.lower().endswith(".wav") for f in files):
                return {"kind": "wav_folder", "path": path}
    return {"kind": "image_folder", "path": path}


def run(args) -> int:
    overrides = list(args.set or [])
    scope = _strategy_scope(args)  # before any other TensorFlow work: a multi-worker strategy must come first
    with scope:
        return _run_in_scope(args, overrides)


def _strategy_scope(args):
    """``--strategy``: the strategy's scope (the model is built in it; fine_tune keeps it), else a no-op."""
    import contextlib

    name = getattr(args, "strategy", None)
    if name is None:
        return contextlib.nullcontext()
    from keras_transfer.errors import InvalidConfigError
    from keras_transfer.training.strategy import make_strategy, tf_config, worker_checkpoint_dir

    if name == "multi_worker":
        if tf_config() is None:
            make_strategy(name)  # raises the TF_CONFIG error
        if not (args.run_dir or args.resume):
            raise InvalidConfigError(
                "--strategy multi_worker needs --run-dir (the same on every worker). Received: no --run-dir. The "
                "chief (index 0) writes RUN_DIR, every other worker its own RUN_DIR.worker-worker<index>."
            )
        if args.run_dir:
            args.run_dir = worker_checkpoint_dir(args.run_dir)
        else:
            args.resume = worker_checkpoint_dir(args.resume)
    return make_strategy(name).scope()


def _run_in_scope(args, overrides) -> int:
    import yaml

    from keras_transfer.errors import InvalidConfigError
    from keras_transfer.recipe import Recipe
    from keras_transfer.recipe.validation import read_config_file

    if args.resume:
        given = [flag for flag, value in (
            ("a config file", args.config), ("--set", overrides), ("--backbone", args.backbone), ("--data", args.data),
            ("--name", args.name), ("--run-dir", args.run_dir), ("--overwrite", args.overwrite),
            ("--check", args.check)) if value]
        if given:
            raise InvalidConfigError(
                "--resume continues a run exactly as it was configured. Received: --resume with "
                f"{', '.join(given)}. Resume alone (--quiet is allowed), or start a new run from "
                f"{os.path.join(args.resume, 'config.yaml')} with changes."
            )
        Recipe.resume(args.resume, quiet=args.quiet)
        return 0
    if args.config is None and not (args.backbone and args.data):
        raise InvalidConfigError(
            "keras-transfer fit needs a config file, or --backbone and --data. Received: "
            f"{'--backbone only' if args.backbone else '--data only' if args.data else 'neither'}. E.g. "
            "keras-transfer fit examples/configs/image.yaml, or keras-transfer fit --backbone mobilenet_v2 "
            "--data photos/ (examples in examples/configs/)."
        )
    if args.config is not None:
        raw = read_config_file(args.config)
        base_dir = os.path.dirname(os.path.abspath(args.config))
        source = args.config
    else:
        default_name = re.sub(r"[^A-Za-z0-9_.-]", "_", os.path.basename(args.backbone.rstrip("/\\"))).lstrip("_.-")
        raw = {"name": args.name or default_name or "run", "head": {}}
        base_dir, source = os.getcwd(), "(command line)"
    if args.backbone:
        raw.setdefault("backbone", {})
        if not isinstance(raw["backbone"], dict):
            raw["backbone"] = {}
        raw["backbone"]["name"] = args.backbone
    if args.data:
        raw["data"] = data_section(args.data)
        if args.config is None:
            _photo_recipe(raw, args.backbone, quiet=args.quiet)
    if args.name and args.config is not None:
        raw["name"] = args.name
    from keras_transfer.recipe.overrides import apply_overrides

    recipe = Recipe(apply_overrides(raw, overrides), base_dir=base_dir, source=source)
    if args.check:
        print(f"# {source}: valid. Resolved config:")
        print(yaml.safe_dump(recipe.to_dict(), sort_keys=False), end="")
        return 0
    recipe.fit(run_dir=args.run_dir, overwrite=args.overwrite, quiet=args.quiet, argv=command_line(args))
    return 0


def _photo_recipe(raw: dict, backbone: str, quiet: bool) -> None:
    """``fit --backbone B --data DIR`` on photos: the photo recipe's sections (``--set`` still overrides them)."""
    if raw["data"].get("kind") != "image_folder":
        return
    from keras_transfer.errors import KerasTransferError
    from keras_transfer.recipe.photo import photo_recipe

    try:
        decided = photo_recipe(raw["data"]["path"], backbone)
    except KerasTransferError:  # an unknown backbone: the config's validation reports it with the other problems
        return
    for section, values in decided.config().items():
        if isinstance(values, dict):
            raw.setdefault(section, {}).update(values)
        else:
            raw[section] = values
    if not quiet:
        print(f"# keras-transfer fit: {decided.reason}" + ("; photo recipe: working size, random resized crop + flip, "
                                                           "batch 32, 5 + 5 epochs" if decided.is_photo else ""))


def command_line(args) -> list:
    """The ``keras-transfer fit`` command as given (recorded in the run's environment.json)."""
    words = ["keras-transfer", "fit"] + ([args.config] if args.config else [])
    for flag in ("backbone", "data", "name", "run_dir", "strategy"):
        if getattr(args, flag):
            words += [f"--{flag.replace('_', '-')}", getattr(args, flag)]
    for override in args.set or []:
        words += ["--set", override]
    words += [f"--{flag}" for flag in ("overwrite", "quiet") if getattr(args, flag)]
    return words


def register(commands):
    parser = commands.add_parser(
        "fit", help="a whole transfer recipe from a YAML / JSON config (or --backbone and --data) into a run folder",
        description="Train a transfer recipe into runs/<name>-<timestamp>/ (resolved config, environment, history "
                    "JSON/CSV, TensorBoard logs, best and last .keras models, curves, evaluation report, exports). "
                    "Config examples: examples/configs/.",
    )
    parser.add_argument("config", nargs="?", default=None, help="YAML or JSON config file")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", default=[],
                        help="override a config value without editing the file, e.g. --set stages.head_epochs=1 "
                             "--set backbone.input_size=[64,64] (values are YAML; repeatable)")
    parser.add_argument("--backbone", default=None, help="backbone name (keras-transfer backbones lists them)")
    parser.add_argument("--data", default=None,
                        help="offline dataset name, tfds:NAME, .csv of text, .npz arrays, folder of WAV or image "
                             "class sub-folders")
    parser.add_argument("--name", default=None, help="run name (default: the config's name, or the backbone's)")
    parser.add_argument("--run-dir", default=None, help="the run folder (default: <output_dir>/<name>-<timestamp>)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --run-dir")
    parser.add_argument("--resume", default=None, metavar="RUN_DIR",
                        help="continue an interrupted run from its last complete epoch")
    parser.add_argument("--check", action="store_true", help="validate the config and print it resolved; no training")
    parser.add_argument("--strategy", choices=("mirrored", "multi_worker"), default=None,
                        help="train under tf.distribute: mirrored (this machine's devices) or multi_worker "
                             "(MultiWorkerMirroredStrategy over TF_CONFIG's cluster; run the same command on every "
                             "worker with the same --run-dir; docs/scale.md)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.set_defaults(run=run)

