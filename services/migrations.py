"""Schema migrations, applied in order at start-up (sqlite-utils 4 ``Migrations``).

Never edit an applied migration: add a new one. All times are integer Unix seconds (UTC);
video ids are TEXT (19 digits, beyond JavaScript's safe integers).
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

MIGRATIONS = Migrations("reelboard")


@MIGRATIONS(name="0001_accounts_and_oauth")
def _accounts_and_oauth(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE accounts (
            open_id            TEXT PRIMARY KEY,
            union_id           TEXT,
            display_name       TEXT NOT NULL DEFAULT '',
            username           TEXT,
            avatar_url         TEXT,
            bio_description    TEXT,
            profile_deep_link  TEXT,
            is_verified        INTEGER,
            follower_count     INTEGER,
            granted_scopes     TEXT NOT NULL DEFAULT '',
            status             TEXT NOT NULL DEFAULT 'active'
                               CHECK (status IN ('active', 'needs_reconnect', 'disconnected')),
            status_reason      TEXT,
            access_token_enc   TEXT,
            refresh_token_enc  TEXT,
            access_expires_at  INTEGER,
            refresh_expires_at INTEGER,
            last_refresh_at    INTEGER,
            refresh_lease_owner TEXT,
            refresh_lease_until INTEGER,
            connected_at       INTEGER NOT NULL,
            updated_at         INTEGER NOT NULL
        );
        CREATE TABLE oauth_states (
            state_hash         TEXT PRIMARY KEY,
            code_verifier_enc  TEXT,
            requested_scopes   TEXT NOT NULL,
            purpose            TEXT NOT NULL DEFAULT 'connect',
            target_open_id     TEXT,
            redirect_uri       TEXT NOT NULL,
            created_at         INTEGER NOT NULL,
            expires_at         INTEGER NOT NULL,
            consumed_at        INTEGER
        );
        CREATE INDEX oauth_states_expires ON oauth_states(expires_at);
        -- One row per key: decrypting it at start-up proves the configured key is the right one.
        CREATE TABLE encryption_keys (
            key_id      TEXT PRIMARY KEY,
            key_check   TEXT NOT NULL,
            is_primary  INTEGER NOT NULL DEFAULT 0,
            created_at  INTEGER NOT NULL
        );
        """
    )


@MIGRATIONS(name="0002_analytics_cache")
def _analytics_cache(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE sync_runs (
            id             INTEGER PRIMARY KEY,
            open_id        TEXT NOT NULL REFERENCES accounts(open_id) ON DELETE CASCADE,
            captured_at    INTEGER NOT NULL,
            started_at     INTEGER NOT NULL,
            finished_at    INTEGER,
            status         TEXT NOT NULL DEFAULT 'running'
                           CHECK (status IN ('running', 'succeeded', 'partial', 'failed')),
            requests_made  INTEGER NOT NULL DEFAULT 0,
            rows_written   INTEGER NOT NULL DEFAULT 0,
            duration_ms    INTEGER,
            videos_seen    INTEGER NOT NULL DEFAULT 0,
            missing_scopes TEXT,
            error          TEXT
        );
        CREATE INDEX sync_runs_account ON sync_runs(open_id, started_at);
        CREATE TABLE account_snapshots (
            open_id          TEXT NOT NULL REFERENCES accounts(open_id) ON DELETE CASCADE,
            captured_at      INTEGER NOT NULL,
            follower_count   INTEGER,
            following_count  INTEGER,
            likes_count      INTEGER,
            video_count      INTEGER,
            PRIMARY KEY (open_id, captured_at)
        ) WITHOUT ROWID;
        CREATE TABLE videos (
            id               TEXT PRIMARY KEY,
            open_id          TEXT NOT NULL REFERENCES accounts(open_id) ON DELETE CASCADE,
            create_time      INTEGER NOT NULL,
            title            TEXT,
            description      TEXT,
            duration         INTEGER,
            width            INTEGER,
            height           INTEGER,
            cover_image_url  TEXT,
            share_url        TEXT,
            embed_link       TEXT,
            first_seen_at    INTEGER NOT NULL,
            last_seen_at     INTEGER NOT NULL,
            removed_at       INTEGER
        );
        CREATE INDEX videos_account ON videos(open_id, create_time);
        -- Append-only: one row per video per sync run (captured_at = the run's capture time).
        CREATE TABLE video_snapshots (
            video_id       TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
            captured_at    INTEGER NOT NULL,
            open_id        TEXT NOT NULL,
            view_count     INTEGER,
            like_count     INTEGER,
            comment_count  INTEGER,
            share_count    INTEGER,
            PRIMARY KEY (video_id, captured_at)
        ) WITHOUT ROWID;
        CREATE INDEX video_snapshots_account_time ON video_snapshots(open_id, captured_at);
        -- Per-run totals over every video snapshotted in that run, written by the sync in the
        -- run's final transaction, so account-level charts read hundreds of rows, not millions.
        CREATE TABLE account_video_totals (
            open_id        TEXT NOT NULL REFERENCES accounts(open_id) ON DELETE CASCADE,
            captured_at    INTEGER NOT NULL,
            videos_counted INTEGER NOT NULL,
            view_count     INTEGER NOT NULL,
            like_count     INTEGER NOT NULL,
            comment_count  INTEGER NOT NULL,
            share_count    INTEGER NOT NULL,
            PRIMARY KEY (open_id, captured_at)
        ) WITHOUT ROWID;
        """
    )


@MIGRATIONS(name="0003_report_exports")
def _report_exports(db: Database) -> None:
    db.executescript(
        """
        -- One row per weekly-report export (history on the Reports page). A row 'running' is
        -- also the lease that keeps two exports to one destination from interleaving.
        CREATE TABLE report_exports (
            id           INTEGER PRIMARY KEY,
            week         TEXT NOT NULL,
            accounts     TEXT NOT NULL,            -- JSON list of open_ids
            account_labels TEXT NOT NULL DEFAULT '',
            destination  TEXT NOT NULL CHECK (destination IN ('sheets', 'csv', 'xlsx')),
            target       TEXT,                     -- spreadsheet URL or output folder
            started_at   INTEGER NOT NULL,
            finished_at  INTEGER,
            lease_until  INTEGER,
            calls_made   INTEGER NOT NULL DEFAULT 0,
            outcome      TEXT NOT NULL DEFAULT 'running'
                         CHECK (outcome IN ('running', 'succeeded', 'failed')),
            error        TEXT
        );
        CREATE INDEX report_exports_started ON report_exports(started_at);
        -- At most one running export per destination, enforced by SQLite itself.
        CREATE UNIQUE INDEX report_exports_one_running
            ON report_exports(destination) WHERE outcome = 'running';
        """
    )


@MIGRATIONS(name="0006_sync_lease")
def _sync_lease(db: Database) -> None:
    # One sync per account across processes (services.sync_lease): who holds it, until when.
    db.executescript(
        """
        ALTER TABLE accounts ADD COLUMN sync_lease_owner TEXT;
        ALTER TABLE accounts ADD COLUMN sync_lease_until INTEGER;
        """
    )
