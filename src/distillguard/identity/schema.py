"""Identity tables (SQLite and PostgreSQL), applied once through `Database.migrate`.

Statements are append-only: to change the schema add a statement, never edit one.
`identity_changes` is both the audit trail of every change and the feed other replicas
poll to invalidate their snapshot caches; its `version` comes from the single
`identity_meta` counter row, locked by each writing transaction, so versions become
visible in commit order and a poller reading `version > last_seen` never skips one.
"""

from __future__ import annotations

_TS = "TEXT NOT NULL"

STATEMENTS: tuple[str, ...] = (
    f"""CREATE TABLE identity_orgs (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        hq_country TEXT NOT NULL,
        parent_name TEXT,
        parent_hq_country TEXT,
        allowlists TEXT NOT NULL DEFAULT '[]',
        status TEXT NOT NULL DEFAULT 'active',
        status_reason TEXT,
        screening_status TEXT NOT NULL DEFAULT 'unknown',
        screening_ref TEXT,
        screening_at TEXT,
        rpm INTEGER, tpm INTEGER, max_concurrency INTEGER,
        created_at {_TS}, updated_at {_TS},
        version INTEGER NOT NULL DEFAULT 1)""",
    f"""CREATE TABLE identity_accounts (
        id TEXT PRIMARY KEY,
        org_id TEXT REFERENCES identity_orgs(id),
        name TEXT NOT NULL,
        type TEXT NOT NULL,
        nationality TEXT,
        status TEXT NOT NULL DEFAULT 'active',
        status_reason TEXT,
        kyc_level TEXT NOT NULL DEFAULT 'none',
        screening_status TEXT NOT NULL DEFAULT 'unknown',
        screening_ref TEXT,
        screening_at TEXT,
        risk_score REAL NOT NULL DEFAULT 0,
        risk_verdict TEXT NOT NULL DEFAULT 'benign',
        risk_campaign TEXT,
        risk_at TEXT,
        rpm INTEGER, tpm INTEGER, max_concurrency INTEGER,
        created_at {_TS}, updated_at {_TS},
        version INTEGER NOT NULL DEFAULT 1)""",
    "CREATE INDEX identity_accounts_org ON identity_accounts(org_id)",
    f"""CREATE TABLE identity_keys (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES identity_accounts(id),
        key_hash TEXT NOT NULL UNIQUE,
        display_prefix TEXT NOT NULL,
        name TEXT,
        created_at {_TS},
        expires_at TEXT,
        revoked_at TEXT,
        last_used_at TEXT)""",
    "CREATE INDEX identity_keys_account ON identity_keys(account_id)",
    f"""CREATE TABLE identity_kyc (
        subject_id TEXT PRIMARY KEY,
        record TEXT NOT NULL,
        updated_at {_TS})""",
    "CREATE TABLE identity_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "INSERT INTO identity_meta (name, value) VALUES ('version', 0)",
    f"""CREATE TABLE identity_changes (
        version INTEGER PRIMARY KEY,
        at {_TS},
        action TEXT NOT NULL,
        org_id TEXT,
        account_id TEXT,
        key_hash TEXT,
        detail TEXT)""",
    # who made the change: "cli:<os user>", "admin-api[:<X-Actor>]", or a library caller's label
    "ALTER TABLE identity_changes ADD COLUMN actor TEXT",
    # a reviewer's disposition of the detector's risk (`set_review`); the detector's own
    # writes (`set_risk`) never touch these columns. NULL: no review.
    "ALTER TABLE identity_accounts ADD COLUMN review_disposition TEXT",
    "ALTER TABLE identity_accounts ADD COLUMN review_by TEXT",
    "ALTER TABLE identity_accounts ADD COLUMN review_reason TEXT",
    "ALTER TABLE identity_accounts ADD COLUMN review_at TEXT",
    "ALTER TABLE identity_accounts ADD COLUMN review_score REAL",
    "ALTER TABLE identity_accounts ADD COLUMN review_verdict TEXT",
    "ALTER TABLE identity_accounts ADD COLUMN review_campaign TEXT",
    "ALTER TABLE identity_accounts ADD COLUMN review_margin REAL",
    "ALTER TABLE identity_accounts ADD COLUMN review_expires_at TEXT",
)
