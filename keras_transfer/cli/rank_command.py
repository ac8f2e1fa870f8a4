"""``keras-transfer rank``: rank candidate backbones for a dataset by LogME / linear probe / k-NN, no fine-tuning."""

import json
from pathlib import Path

__all__ = ["register", "run"]


def _size(text):
    if text is None:
        return None
    parts = [int(part) for part in str(text).lower().replace("x", ",").split(",") if part.strip()]
    return tuple(parts * 2 if len(parts) == 1 else parts)


def run(args) -> int:
    from keras_transfer.selection import rank_backbones

    ranking = rank_backbones(
        args.data, args.backbones, method=args.method, cache_dir=args.cache,
        latency_budget_ms=args.latency_budget_ms, size_budget_mb=args.size_budget_mb,
        weights=None if args.weights == "none" else args.weights, input_size=_size(args.image_size),
        n_per_class=args.n_per_class, seed=args.seed, verbose=not args.quiet,
    )
    print(ranking.to_markdown())
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(ranking.to_dict(), indent=2))
        print(f"ranking: {args.output}")
    return 0


def register(commands):
    parser = commands.add_parser(
        "rank", help="rank candidate backbones for a dataset without fine-tuning (LogME, linear probe, k-NN)",
        description="Extract each candidate's features once (feature cache: a second ranking is instant), score "
                    "them and print a table (score, seconds, feature size, parameters, MB, ms/image) and a "
                    "recommendation, within a latency / size budget when given.",
    )
    parser.add_argument("--data", required=True,
                        help="offline dataset name (animal_mnist, mnist5k, digits, elpv, rotten_tomatoes), a folder "
                             "of <class>/<image> sub-folders, a .npz with x and y, or a .csv of texts")
    parser.add_argument("--backbones", required=True,
                        help="comma-separated candidates: registry names, NAME:random (random-weights control), "
                             "minilm, word_vectors:PATH")
    parser.add_argument("--method", default="logme", choices=["logme", "linear_probe", "knn", "all"])
    parser.add_argument("--cache", default=None, help="feature cache folder (default: saved_models/feature_cache)")
    parser.add_argument("--latency-budget-ms", type=float, default=None, help="largest ms per image (batch 1)")
    parser.add_argument("--size-budget-mb", type=float, default=None, help="largest float32 weight size in MB")
    parser.add_argument("--weights", default="imagenet", help="weights of plain names: imagenet or none")
    parser.add_argument("--image-size", default=None, help="resolution backbones run at, e.g. 64 or 96,96")
    parser.add_argument("--n-per-class", type=int, default=None, help="examples per class kept from the data")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=None, help="also write the ranking as JSON here")
    parser.add_argument("--quiet", action="store_true", help="print only the table")
    parser.set_defaults(run=run)
