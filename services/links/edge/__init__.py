"""The edge: the public app that answers visitors of short links (API.md §14).

It reads link snapshots (in-process LRU → Redis → Postgres, never writing
Postgres), chooses the destination, and records each counted visit as a
``click.recorded`` event, buffered and published in batches."""
