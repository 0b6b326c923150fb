"""The executor: runs each runbook in its own nbclient kernel and records the outcome.

Modules: ``notebooks`` (discovery, reading), ``fingerprint`` (cache inputs), ``scratch``
(private TMPDIR and the leftover sweep), ``runner`` (parallel execution), ``progress``,
``ledger`` (the verification record; the only module the site imports), ``commands``
(``runbook-exec run`` / ``status``). Nothing is imported here, so ``ledger`` stays cheap.
"""
