"""Analyses: frames in, result objects out; nothing here fetches or draws.

- :mod:`~evalkit.analysis.stats` — the formulas; :mod:`~evalkit.analysis.verdicts` — their words;
- :mod:`~evalkit.analysis.selection` — which runs, metrics and documents are compared;
- :mod:`~evalkit.analysis.compare`, :mod:`~evalkit.analysis.recovery`,
  :mod:`~evalkit.analysis.comparability`, :mod:`~evalkit.analysis.flips`,
  :mod:`~evalkit.analysis.trend` — one question each;
- :mod:`~evalkit.analysis.serving` — serving summaries over a window.
"""
