"""Reproducible speed and quality measurements: ``python -m benchmarks NAME`` (or ``all``).

Each benchmark is a module ``benchmarks/<name>.py`` defining ``run() -> dict``; the harness writes the dict to
``benchmarks/results/<name>.json`` together with the environment, and a Markdown summary to
``benchmarks/results/<name>.md``. A module may define ``summary(results) -> str`` (Markdown) for that file.
"""
