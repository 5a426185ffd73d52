"""Persistence shared by the parts that keep records: identity, screening, weights, reports.

`open_database(url)` gives a `Database` on SQLite (the embedded default: a file, WAL mode,
nothing to install) or PostgreSQL (several replicas). Parts write portable SQL with `?`
placeholders and declare their tables with `Database.migrate(part, statements)`.
Shared fast state for rate limits lives in `distillguard.store.state` (memory or Redis).
The ledger keeps its own storage so that it depends on nothing else in the project.
"""

from distillguard.store.db import Database, open_database

__all__ = ["Database", "open_database"]
