"""The SQLite schema, pragmas and statements, kept as data.

Tables:

- ``log``: the append-only revision log, one row per committed change, keyed by
  ``revision``. A DELETE row carries the key's last value in ``value``; an UPDATE row
  carries the replaced value in ``old_value``; ``prev_revision``/``old_ttl`` describe
  the replaced record, so every event (with ``prev_kv``) is rebuilt from its own row,
  even after compaction removed the row it replaced.
- ``current``: one row per live key pointing at its latest log row, plus its expiry;
  maintained in the same transaction as ``log``, it serves latest reads and the sweeper.
- ``meta``: named integers (``compact_revision``).

Compaction at R deletes log rows below R that a later row at or below R supersedes, and
deletion rows below R; rows at or above R stay, so every read at R or later is intact.
"""

from __future__ import annotations

SCHEMA_VERSION = 1

#: Page size only applies to a new database file (before the first table exists).
CREATE_PRAGMAS = ("PRAGMA page_size = 4096",)

PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = FULL",
    "PRAGMA temp_store = MEMORY",
    "PRAGMA cache_size = -65536",
    "PRAGMA foreign_keys = OFF",
)

READ_PRAGMAS = ("PRAGMA query_only = 1", "PRAGMA cache_size = -65536")

SCHEMA = """
CREATE TABLE IF NOT EXISTS log (
    revision        INTEGER PRIMARY KEY,
    key             TEXT    NOT NULL,
    create_revision INTEGER NOT NULL,
    prev_revision   INTEGER NOT NULL,
    deleted         INTEGER NOT NULL,
    ttl             INTEGER NOT NULL,
    expires_at      REAL,
    value           BLOB    NOT NULL,
    old_value       BLOB,
    old_ttl         INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS log_key_revision ON log (key, revision);
CREATE TABLE IF NOT EXISTS current (
    key        TEXT    PRIMARY KEY,
    revision   INTEGER NOT NULL,
    expires_at REAL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS current_expiry ON current (expires_at)
    WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS meta (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
"""

# Columns every record read returns, in this order.
KV_COLUMNS = "l.key, l.value, l.create_revision, l.revision, l.ttl"
EVENT_COLUMNS = (
    "revision, key, create_revision, prev_revision, deleted, ttl, value, old_value, old_ttl"
)

HEAD = "SELECT coalesce(max(revision), 0) FROM log"
GET_META = "SELECT value FROM meta WHERE name = ?"
SET_META = (
    "INSERT INTO meta (name, value) VALUES (?, ?) "
    "ON CONFLICT (name) DO UPDATE SET value = excluded.value"
)

# Writes (inside the committer's transaction).
CURRENT_FOR_WRITE = (
    "SELECT l.value, l.create_revision, l.revision, l.ttl "
    "FROM current c JOIN log l ON l.revision = c.revision WHERE c.key = ?"
)
INSERT_LOG = "INSERT INTO log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
UPSERT_CURRENT = (
    "INSERT INTO current (key, revision, expires_at) VALUES (?, ?, ?) "
    "ON CONFLICT (key) DO UPDATE SET revision = excluded.revision, "
    "expires_at = excluded.expires_at"
)
DELETE_CURRENT = "DELETE FROM current WHERE key = ?"

# Latest reads: one statement each, so each is a consistent snapshot.
GET_CURRENT = (
    f"SELECT {KV_COLUMNS} FROM current c JOIN log l ON l.revision = c.revision WHERE c.key = ?"
)
GET_LATEST = (
    f"SELECT h.rev, {KV_COLUMNS} FROM (SELECT coalesce(max(revision), 0) AS rev FROM log) h "
    "LEFT JOIN current c ON c.key = ? LEFT JOIN log l ON l.revision = c.revision"
)
LIST_LATEST = (
    f"SELECT {KV_COLUMNS} FROM current c JOIN log l ON l.revision = c.revision "
    "WHERE c.key >= ? AND c.key < ? ORDER BY c.key LIMIT ?"
)
COUNT_LATEST = "SELECT count(*) FROM current WHERE key >= ? AND key < ?"

# Reads at an older revision (inside a read transaction).
GET_AT = (
    f"SELECT {KV_COLUMNS}, l.deleted FROM log l WHERE l.key = ? AND l.revision <= ? "
    "ORDER BY l.revision DESC LIMIT 1"
)
_LATEST_AT = (
    "SELECT key, max(revision) AS revision, deleted FROM log "
    "WHERE key >= ? AND key < ? AND revision <= ? GROUP BY key"
)
LIST_AT = (
    f"SELECT {KV_COLUMNS} FROM ({_LATEST_AT}) v JOIN log l ON l.revision = v.revision "
    "WHERE v.deleted = 0 ORDER BY v.key LIMIT ?"
)
COUNT_AT = f"SELECT count(*) FROM ({_LATEST_AT}) WHERE deleted = 0"

HISTORY = (
    f"SELECT {EVENT_COLUMNS} FROM log WHERE revision >= ? AND revision <= ? "
    "AND key >= ? AND key < ? ORDER BY revision LIMIT ?"
)

# Compaction, one revision window per transaction.
COMPACT_WINDOW = (
    "DELETE FROM log WHERE revision >= ?1 AND revision < ?2 AND (deleted = 1 OR EXISTS ("
    "SELECT 1 FROM log n WHERE n.key = log.key AND n.revision > log.revision "
    "AND n.revision <= ?3))"
)
OLDEST = "SELECT coalesce(min(revision), 0) FROM log"

# TTL.
EXPIRED = (
    "SELECT key, revision FROM current WHERE expires_at IS NOT NULL AND expires_at <= ? "
    "ORDER BY expires_at LIMIT ?"
)
NEXT_EXPIRY = "SELECT min(expires_at) FROM current WHERE expires_at IS NOT NULL"
