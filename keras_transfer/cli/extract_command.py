"""``keras-transfer extract``: backbone features of a whole dataset into a feature cache, on Apache Beam.

Forms::

    keras-transfer extract --data photos/ --backbone mobilenet_v2 --cache features/             # DirectRunner
    keras-transfer extract --data photos/ --backbone mobilenet_v2 --cache features/ \\
        --runner DirectRunner --direct_num_workers=2 --direct_running_mode=multi_processing
    keras-transfer extract --data 'gs://bucket/train-*.tfrecord' --backbone mobilenet_v2 \\
        --cache gs://bucket/features --runner DataflowRunner --project=P --region=R --temp_location=gs://bucket/tmp
    keras-transfer extract --data tfds:NAME[:SPLIT] ... --runner FlinkRunner --flink_master=host:8081

Every flag after the known ones is a Beam pipeline option (checked before any work; docs/scale.md). The cache
is the one ``keras_transfer.features.extract`` writes: ``fine_tune(cache_dir=...)`` and ranking read it.
"""

__all__ = ["register", "run"]


def run(args) -> int:
    import keras_transfer as kt
    from keras_transfer.errors import InvalidConfigError
    from keras_transfer.features.beam_options import check_pipeline_options

    flags = [f"--runner={args.runner}"] + list(args.beam_options or [])
    check_pipeline_options(flags, args.cache)  # bad options fail before the backbone is built
    image_size = None
    if args.image_size:
        try:
            image_size = tuple(int(v) for v in args.image_size.lower().split("x"))
        except ValueError:
            image_size = args.image_size
        if not (isinstance(image_size, tuple) and len(image_size) == 2):
            raise InvalidConfigError(
                f"--image-size must be HEIGHTxWIDTH. Received: --image-size {args.image_size}. "
                "E.g. --image-size 224x224."
            )
    input_shape = tuple(int(v) for v in args.input_size.lower().split("x")) if args.input_size else None
    backbone = kt.backbones.get(args.backbone, weights=args.weights if args.weights != "none" else None,
                                input_shape=input_shape)
    cache = kt.features.extract(
        backbone, args.data, args.cache, runner="beam", pipeline_options=flags, image_size=image_size,
        channels=args.channels, batch_size=args.batch_size, verbose=not args.quiet,
        weights_from=args.weights_from,
    )
    print(cache.path)
    return 0


def register(commands):
    parser = commands.add_parser(
        "extract", help="backbone features of a dataset into a feature cache, as an Apache Beam pipeline",
        description="Run a backbone over a folder of class sub-folders of images, TFRecord files or a tfds split "
                    "on Apache Beam (DirectRunner, DataflowRunner, FlinkRunner, SparkRunner) and write the feature "
                    "cache fine_tune(cache_dir=...) reads. Unknown flags are Beam pipeline options "
                    "(e.g. --direct_num_workers=2). See docs/scale.md.",
    )
    parser.add_argument("--data", required=True,
                        help="image folder, TFRecord file / folder / glob, or tfds:NAME[:SPLIT]")
    parser.add_argument("--backbone", required=True, help="backbone name (keras-transfer backbones lists them)")
    parser.add_argument("--cache", required=True, help="cache directory (local, or gs:// s3:// hdfs:// for remote "
                                                       "workers)")
    parser.add_argument("--runner", default="DirectRunner", help="Beam runner: DirectRunner (default), "
                        "DataflowRunner, FlinkRunner, SparkRunner")
    parser.add_argument("--weights", default="imagenet", help="imagenet (default), a weights file, or none")
    parser.add_argument("--input-size", default=None, help="the backbone's working resolution HxW (default: its own)")
    parser.add_argument("--image-size", default=None, help="decode images to HxW (default: the backbone's resolution)")
    parser.add_argument("--channels", type=int, choices=(1, 3), default=3, help="decode to RGB (3) or grey (1)")
    parser.add_argument("--batch-size", type=int, default=64, help="images per backbone call on a worker")
    parser.add_argument("--weights-from", choices=("file", "registry"), default="file",
                        help="how workers get the backbone: a .keras file staged beside the cache (default) or "
                             "rebuilt by name from their own weights")
    parser.add_argument("--quiet", action="store_true", help="print only the cache entry's path")
    # every other flag is a Beam pipeline option (keras_transfer.cli.main passes them in beam_options)
    parser.set_defaults(run=run, beam_options=None, extra_flags="beam_options")
