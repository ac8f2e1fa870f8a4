"""``keras-transfer backbones``: print the backbone registry."""

__all__ = ["register", "run", "registry_table"]


def registry_table() -> str:
    """The registry as a Markdown table: name, family, default input, preprocessing, ImageNet weights."""
    from keras_transfer.backbones import get_spec, list_backbones

    rows = ["| name | family | input | preprocessing | `weights=\"imagenet\"` |", "|---|---|---|---|---|"]
    for name in list_backbones():
        spec = get_spec(name)
        if getattr(spec, "input_kind", "image") != "image":  # text / audio specs describe their own input
            rows.append(f"| `{name}` | {spec.family} | {spec.input_description} | {spec.imagenet_source} |")
            continue
        rows.append(
            f"| `{name}` | {spec.family} | {spec.default_size}×{spec.default_size} (min {spec.min_size}) "
            f"| {spec.preprocessing} | {spec.imagenet_source} |"
        )
    return "\n".join(rows)


def run(args) -> int:
    print(registry_table())
    return 0


def register(commands):
    parser = commands.add_parser("backbones", help="list the registered backbones")
    parser.set_defaults(run=run)
