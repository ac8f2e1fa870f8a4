"""keras_transfer.export.plots: PNG files."""

from keras_transfer.export.plots import plot_confusion_matrix, plot_training_curves


def test_pngs(tmp_path):
    cm = plot_confusion_matrix([[3, 1], [0, 4]], ["a", "b"], tmp_path / "cm.png")
    curves = plot_training_curves({"loss": [1.0, None, 0.5], "val_loss": [1.2, 0.9, 0.8], "accuracy": [0.5, 0.7, 0.9]},
                                  tmp_path / "curves.png", stages=[{"name": "head", "epochs": [0, 1]},
                                                                   {"name": "fine_tune", "epochs": [2]}])
    for path in (cm, curves):
        data = open(path, "rb").read()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_plotting_leaves_the_callers_matplotlib_backend_alone(tmp_path):
    # A notebook's inline backend must survive a plot written to a file (pyplot is never touched).
    import matplotlib

    before = matplotlib.get_backend()
    matplotlib.use("pdf")
    try:
        plot_confusion_matrix([[3, 1], [0, 4]], ["a", "b"], str(tmp_path / "cm.png"))
        plot_training_curves({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}, str(tmp_path / "curves.png"))
        assert matplotlib.get_backend() == "pdf"
    finally:
        matplotlib.use(before)
    assert (tmp_path / "cm.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
