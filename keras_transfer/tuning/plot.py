"""`plot_trials`: a study's score per trial and the best score so far, as a PNG."""

__all__ = ["plot_trials"]


def plot_trials(records, path, objective: str, maximize: bool) -> str:
    """Plot each trial's score (stopped trials hollow) and the best-so-far line, in the order trials ended.

    Args:
        records: list of dict with ``number``, ``score`` (float or None) and ``status``.
        path: str. The PNG to write.
        objective: str. The y-axis label.
        maximize: bool. Whether the best is the highest score.

    Returns:
        str: ``path``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scored = [r for r in sorted(records, key=lambda r: r["number"]) if r.get("score") is not None]
    figure, axes = plt.subplots(figsize=(7, 4))
    best, best_line = None, []
    for record in scored:
        value = record["score"]
        best = value if best is None or (value > best if maximize else value < best) else best
        best_line.append(best)
    numbers = [r["number"] for r in scored]
    complete = [r for r in scored if r["status"] == "complete"]
    stopped = [r for r in scored if r["status"] != "complete"]
    axes.scatter([r["number"] for r in complete], [r["score"] for r in complete], label="trial", zorder=3)
    if stopped:
        axes.scatter([r["number"] for r in stopped], [r["score"] for r in stopped], facecolors="none",
                     edgecolors="C0", label="stopped early", zorder=3)
    axes.step(numbers, best_line, where="post", color="C1", label="best so far")
    axes.set_xlabel("trial")
    axes.set_ylabel(objective)
    axes.legend()
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
