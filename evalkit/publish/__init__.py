"""Publishing results where the platform looks for them.

- :func:`exposition` — lm-eval scores (and a comparison / recovery) as Prometheus text
  exposition: ``lm_eval_accuracy``, ``lm_eval_accuracy_stderr``, ``lm_eval_samples_evaluated``,
  ``lm_eval_completion_time``, ``lm_eval_accuracy_delta``, ``lm_eval_recovery_percent``;
- :func:`push` — PUT it to a Pushgateway (scrape it with ``honor_labels: true``);
- :func:`publish_scores` — eval results onto Model Registry versions (defined in
  :mod:`evalkit.registry.write`, re-exported here).

See ``docs/publish.md``.

>>> import evalkit as ek
>>> text = exposition(ek.load().lmeval.scores)
>>> text.splitlines()[0]
'# HELP lm_eval_accuracy lm-evaluation-harness score of the latest run per model and task (native scale, 0-1 for accuracies).'
"""

from __future__ import annotations

from ..registry.write import PublishResult, publish_scores
from .exposition import escape_label, exposition
from .pushgateway import grouping_path, push

__all__ = ["PublishResult", "escape_label", "exposition", "grouping_path", "publish_scores",
           "push"]
