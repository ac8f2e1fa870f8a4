"""``keras-transfer tune``: search a recipe's settings with KerasTuner; each trial a recipe run; resumable."""

__all__ = ["register", "run"]


def run(args) -> int:
    from keras_transfer.recipe import apply_overrides, read_config_file
    from keras_transfer.tuning import tune

    config = args.config
    if args.set:
        import os

        from keras_transfer.recipe import Recipe

        config = Recipe(apply_overrides(read_config_file(args.config), args.set),
                        base_dir=os.path.dirname(os.path.abspath(args.config)), source=args.config)
    result = tune(config, args.space, trials=args.trials, study_dir=args.study_dir, algorithm=args.algorithm,
                  objective=args.objective, early_stopping=not args.no_early_stopping, refit=not args.no_refit,
                  overwrite=args.overwrite, seed=args.seed, quiet=not args.verbose_trials)
    print(f"study: {result.study_dir} ({len(result.trials)} trials, {result.seconds:.0f} s this call)")
    for record in result.trials:
        print(f"  trial {record['trial_id']}: {args.objective} {record['score']:.4f} ({record['status']}, "
              f"{record['seconds']:.0f} s) {record['values']}")
    print(f"best: trial {result.best_trial}, {args.objective} {result.best_score:.4f}")
    print(f"best config: {result.study_dir}/best_config.yaml   plot: {result.study_dir}/trials.png")
    if result.refit:
        shown = ", ".join(f"{k} {v:.4f}" for k, v in result.refit["metrics"].items())
        print(f"refit on train + validation (seed {result.refit['seed']}): {shown or 'no test split'}")
    return 0


def register(commands):
    parser = commands.add_parser(
        "tune", help="search a recipe's settings (any config key) with KerasTuner; each trial a recipe run",
        description="Bayesian optimisation or Hyperband over the keys in SPACE.yaml (e.g. optimizer.head_lr: "
                    "{min: 1e-4, max: 1e-2, sampling: log}; stages.unfreeze: [all, 2]). Trials share the feature "
                    "cache, weak ones stop early, the study resumes when run again after a kill; at the end the "
                    "best config is written, refitted on train + validation and the trials plotted.",
    )
    parser.add_argument("config", help="the base recipe (YAML / JSON), as for keras-transfer fit")
    parser.add_argument("--space", required=True, help="search-space YAML / JSON: dotted key -> choices or range")
    parser.add_argument("--trials", type=int, default=20, help="trials in the study (default 20)")
    parser.add_argument("--study-dir", default=None, help="study folder (default: <output_dir>/<name>-study)")
    parser.add_argument("--algorithm", default="bayesian", choices=["bayesian", "hyperband"])
    parser.add_argument("--objective", default="val_accuracy", help="validation metric to optimise")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", default=[],
                        help="override a base config value (as for fit; repeatable)")
    parser.add_argument("--no-early-stopping", action="store_true", help="run every trial to its last epoch")
    parser.add_argument("--no-refit", action="store_true", help="skip refitting the best config on train + validation")
    parser.add_argument("--overwrite", action="store_true", help="start the search afresh in an existing study folder")
    parser.add_argument("--seed", type=int, default=None, help="the oracle's seed (default: the config's seed)")
    parser.add_argument("--verbose-trials", action="store_true", help="show each trial's progress")
    parser.set_defaults(run=run)
