"""``keras-transfer export``: a ``.keras`` model to SavedModel / TFLite / ONNX, checked against itself."""

__all__ = ["register", "run", "parse_shape"]


def parse_shape(text):
    """``"28,28,1"`` → ``(28, 28, 1)``; None stays None.

    Examples:
    >>> keras_transfer.cli.export_command.parse_shape("28,28,1")
    (28, 28, 1)
    """
    from keras_transfer.errors import InvalidConfigError

    if text is None:
        return None
    try:
        return tuple(int(part) for part in text.replace("x", ",").split(",") if part.strip())
    except ValueError as error:
        raise InvalidConfigError(
            f"A shape is integers separated by commas. Received: {text!r}. Use e.g. --input-shape 28,28,1."
        ) from error


def run(args) -> int:
    import keras

    from keras_transfer.errors import InvalidInputError
    from keras_transfer.export import export, read_labels
    from keras_transfer.export.inputs import fit_images, load_labelled_data
    from keras_transfer.export.model_card import load_history_file
    from keras_transfer.export.runtime import detect_format
    from keras_transfer.models.serializables import register_serializables

    if detect_format(args.model) != "keras":
        raise InvalidInputError(
            f"keras-transfer export converts a trained .keras model. Received: {args.model!r}. "
            "Save the model with model.save('model.keras') first."
        )
    register_serializables()
    model = keras.saving.load_model(args.model, safe_mode=True)
    quantization = None if args.quantization in (None, "none") else args.quantization
    representative, parity, class_names = None, None, None
    input_shape = parse_shape(args.input_shape)
    if args.data:
        x, _, class_names = load_labelled_data(args.data, "train", args.representative_size, seed=args.seed)
        px, py, _ = load_labelled_data(args.data, args.parity_split, args.parity_size, seed=args.seed)
        if input_shape is not None:
            x, px = fit_images(x, input_shape, resize=True), fit_images(px, input_shape, resize=True)
        representative = x if quantization == "int8" else None
        parity = (px, py) if py is not None else px
    if args.labels:
        with open(args.labels, encoding="utf-8") as handle:
            class_names = [line.rstrip("\n") for line in handle if line.strip()]
    elif class_names is None:
        class_names = read_labels(args.model)
    export(
        model, args.output, format=args.format, quantization=quantization, representative_data=representative,
        parity_data=parity, input_shape=input_shape, integer_io=not args.float_output, class_names=class_names,
        history=load_history_file(args.history) if args.history else None, verbose=True,
    )
    return 0


def register(commands):
    parser = commands.add_parser(
        "export", help="export a .keras model to SavedModel / TFLite / ONNX with a parity check and a model card"
    )
    parser.add_argument("model", help="the trained .keras file")
    parser.add_argument("output", help="SavedModel directory, or a .tflite / .onnx file")
    parser.add_argument("--format", default="saved_model", help="saved_model (default), tflite or onnx; Keras' names tf_saved_model and litert work too")
    parser.add_argument("--quantization", default=None,
                        help="TFLite only: none (default), float16, dynamic or int8 (int8 needs --data)")
    parser.add_argument("--data", default=None,
                        help="a dataset name (animal_mnist, mnist5k, digits), a .npz with x and y, or an image "
                             "folder: train images calibrate int8, held-back images check parity")
    parser.add_argument("--representative-size", type=int, default=200, help="calibration images (int8)")
    parser.add_argument("--parity-split", default="test", help="split used for the parity check (dataset names)")
    parser.add_argument("--parity-size", type=int, default=500, help="held-back images for the parity check")
    parser.add_argument("--input-shape", default=None, help="raw input H,W,C the exported model takes (e.g. 28,28,1)")
    parser.add_argument("--float-output", action="store_true", help="int8: keep a float32 output (uint8 default)")
    parser.add_argument("--labels", default=None, help="labels.txt with one class name per line")
    parser.add_argument("--history", default=None, help="JSON with the training History (fine_tune's to_dict())")
    parser.add_argument("--seed", type=int, default=0, help="split seed of a dataset name")
    parser.set_defaults(run=run)
