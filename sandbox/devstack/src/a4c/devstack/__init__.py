"""Local tooling, never deployed: what starts the parts on one machine for people, tests and the bench.

- ``wiring``: the one table of each part's settings, given where the others are;
- ``stack``: ``make run`` (``python -m a4c.devstack``), every part a supervised process;
- ``system``: the whole system in one process for tests; ``emulators``: the sandbox's emulators in
  process; ``timing``: a manual clock and ``eventually``;
- ``postgres``: an embedded PostgreSQL server; ``eventstore``: throwaway migrated databases and sample
  events; ``temporal``: the Temporal dev server.
"""
