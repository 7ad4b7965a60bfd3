"""evalkit's core: what every source, analysis and command stands on, and nothing above it.

- :mod:`~evalkit.core.errors` — the exceptions and their exit codes;
- :mod:`~evalkit.core.frames` — the tidy frame schemas, built and validated at the edges;
- :mod:`~evalkit.core.result` — the result-object convention (frames + issues + metadata);
- :mod:`~evalkit.core.secrets`, :mod:`~evalkit.core.auth` — secrets, redaction, auth objects;
- :mod:`~evalkit.core.http`, :mod:`~evalkit.core.settings` — the one HTTP client and the
  ``EVALKIT_*`` settings that build it;
- :mod:`~evalkit.core.snapshot`, :mod:`~evalkit.core.lock`, :mod:`~evalkit.core.files` —
  verified snapshot folders, one writer per target, bounded file reading;
- :mod:`~evalkit.core.timeutil` — unix seconds, durations, RFC 3339.
"""
