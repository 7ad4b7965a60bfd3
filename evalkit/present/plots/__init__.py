"""Figures from tidy frames and result objects: :mod:`~evalkit.present.plots.quality`
(scores, improvement intervals, recovery, trend), :mod:`~evalkit.present.plots.serving`
(latency, throughput, requests, occupancy over time), :mod:`~evalkit.present.plots.economics`
(capacity curves, cost, quality against cost). One signature everywhere: data first, ``ax=``
optional, the Figure returned with a title and an alt text (:func:`theme.alt_text`); one
colour-blind-safe palette and one colour per model (:mod:`~evalkit.present.plots.theme`).
matplotlib is imported only when a figure is drawn (seaborn's palette and style are written
out in :mod:`~evalkit.present.plots.theme`, so seaborn is never imported).
"""
