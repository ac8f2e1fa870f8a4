"""``keras-transfer serve MODEL [--port 8000] [--host 127.0.0.1]``: a local prediction server and web page."""

__all__ = ["register", "run"]


def run(args) -> int:
    from keras_transfer.serving import serve

    print(f"Serving {args.model} on http://{args.host}:{args.port}/ (POST /predict, GET /health); Ctrl-C stops it.")
    serve(args.model, host=args.host, port=args.port, top_k=args.top_k,
          max_request_bytes=int(args.max_request_mb * 1024 * 1024), max_batch=args.max_batch)
    return 0


def register(commands):
    parser = commands.add_parser(
        "serve", help="serve a .keras, SavedModel, .tflite or .onnx classifier over HTTP, with a web page at /"
    )
    parser.add_argument("model", help=".keras file, SavedModel directory, .tflite or .onnx file")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="interface to bind (default 127.0.0.1: this machine only; 0.0.0.0 exposes it)")
    parser.add_argument("--top-k", type=int, default=3, help="classes per prediction")
    parser.add_argument("--max-batch", type=int, default=16, help="most inputs per request")
    parser.add_argument("--max-request-mb", type=float, default=10.0, help="largest request body, in MiB")
    parser.set_defaults(run=run)
