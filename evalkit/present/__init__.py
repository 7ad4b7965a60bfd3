"""Presentation: what people read. Text escaping and number formats
(:mod:`~evalkit.present.text`), the report's Markdown blocks and tables
(:mod:`~evalkit.present.sections`), ``summary.json`` and Parquet
(:mod:`~evalkit.present.summary_json`), figures (:mod:`~evalkit.present.plots`), the papermill
runner (:mod:`~evalkit.present.report`) with its early-started kernel
(:mod:`~evalkit.present.kernel`, :mod:`~evalkit.present.preload`) and the self-contained HTML
page (:mod:`~evalkit.present.html`). Nothing here computes a number.
"""
