"""Schema migrations, applied in order at start-up (sqlite-utils 4 ``Migrations``).

Never edit an applied migration: add a new one. All times are integer Unix seconds (UTC);
video ids are TEXT (19 digits, beyond JavaScript's safe integers) in every table a reader sees;
only the snapshot table keys videos and accounts by integers (``videos.video_key``,
``accounts.account_key``, migration 0008), behind the ``video_snapshots`` view.
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


@MIGRATIONS(name="0004_publish_jobs")
def _publish_jobs(db: Database) -> None:
    # One row per post, written before any TikTok call (the intent) and never re-sent by
    # itself. The partial unique index makes a double click or a second tab fail at once with
    # "already queued": one job per account + content + mode + caption while it is on its way.
    db.executescript(
        """
        CREATE TABLE publish_jobs (
            id              INTEGER PRIMARY KEY,
            uid             TEXT NOT NULL UNIQUE,
            open_id         TEXT NOT NULL REFERENCES accounts(open_id) ON DELETE CASCADE,
            mode            TEXT NOT NULL CHECK (mode IN ('direct', 'draft', 'photo')),
            source_kind     TEXT NOT NULL CHECK (source_kind IN ('file', 'url', 'photos')),
            source_label    TEXT NOT NULL,
            source_path     TEXT,
            content_key     TEXT NOT NULL,
            size            INTEGER,
            sha256          TEXT,
            file_mtime_ns   INTEGER,
            content_type    TEXT,
            caption         TEXT NOT NULL DEFAULT '',
            caption_hash    TEXT NOT NULL,
            privacy_level   TEXT,
            options         TEXT NOT NULL DEFAULT '{}',
            status          TEXT NOT NULL DEFAULT 'prepared'
                            CHECK (status IN ('prepared', 'init_sent', 'uploading', 'processing',
                                              'inbox', 'published', 'failed', 'unknown',
                                              'cancelled')),
            publish_id      TEXT,
            upload_url_enc  TEXT,
            upload_expires_at INTEGER,
            chunk_size      INTEGER,
            chunk_count     INTEGER,
            chunks_acked    INTEGER NOT NULL DEFAULT 0,
            uploaded_bytes  INTEGER NOT NULL DEFAULT 0,
            tiktok_status   TEXT,
            fail_reason     TEXT,
            error_code      TEXT,
            error_message   TEXT,
            log_id          TEXT,
            post_ids        TEXT NOT NULL DEFAULT '[]',
            username        TEXT,
            actor           TEXT,
            lease_owner     TEXT,
            lease_until     INTEGER,
            init_sent_at    INTEGER,
            created_at      INTEGER NOT NULL,
            updated_at      INTEGER NOT NULL,
            finished_at     INTEGER
        );
        CREATE UNIQUE INDEX publish_jobs_one_on_its_way
            ON publish_jobs(open_id, content_key, mode, caption_hash)
            WHERE status IN ('prepared', 'init_sent', 'uploading', 'processing', 'unknown');
        CREATE INDEX publish_jobs_account_time ON publish_jobs(open_id, created_at);
        """
    )


@MIGRATIONS(name="0005_audit_events")
def _audit_events(db: Database) -> None:
    db.executescript(
        """
        -- Who did what, append-only: the triggers refuse any change or removal, so a row
        -- written once stays as written (the Audit page and its CSV read it).
        CREATE TABLE audit_events (
            id            INTEGER PRIMARY KEY,
            at            INTEGER NOT NULL,
            actor_email   TEXT NOT NULL,
            actor_role    TEXT NOT NULL,
            action        TEXT NOT NULL,
            open_id       TEXT,
            account_name  TEXT,
            outcome       TEXT NOT NULL CHECK (outcome IN ('ok', 'refused', 'failed')),
            details       TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX audit_events_at ON audit_events(at);
        CREATE INDEX audit_events_actor ON audit_events(actor_email, at);
        CREATE INDEX audit_events_account ON audit_events(open_id, at);
        CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
        BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
        CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
        BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
        -- Fault catalogue C5: the signed-in person who started a connect must finish it.
        ALTER TABLE oauth_states ADD COLUMN dashboard_user TEXT;
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


@MIGRATIONS(name="0006_counters_in_range")
def _counters_in_range(db: Database) -> None:
    # Before the sync range-checked counts (services.sync.MAX_COUNT = 10^12, whole numbers
    # from 0), a hostile answer could store 2^62, a negative or a string; blank them as a sync
    # does now. Per-run totals built on them (over 2^53, or negative) are dropped: that run
    # then counts as incomplete, like any run without totals.
    bound = 10**12
    for table, columns in (
        ("video_snapshots", ("view_count", "like_count", "comment_count", "share_count")),
        ("account_snapshots",
         ("follower_count", "following_count", "likes_count", "video_count")),
        ("accounts", ("follower_count",)),
        ("videos", ("duration", "width", "height")),
    ):
        for column in columns:
            db.execute(
                f"UPDATE {table} SET {column} = NULL WHERE {column} IS NOT NULL AND "
                f"(typeof({column}) != 'integer' OR {column} < 0 OR {column} > {bound})"
            )
    totals = ("view_count", "like_count", "comment_count", "share_count")
    db.execute(
        "DELETE FROM account_video_totals WHERE "
        + " OR ".join(f"{c} < 0 OR {c} > {2**53 - 1} OR typeof({c}) != 'integer'"
                      for c in totals)
    )


@MIGRATIONS(name="0007_video_latest_and_hashtags")
def _video_latest_and_hashtags(db: Database) -> None:
    # Insights and Videos read each video's latest counters and hashtags from here instead of
    # finding the newest snapshot of every video and parsing captions on every page view. The
    # sync keeps both current; this fills them for what was synced before.
    from services.analytics.hashtags import video_tags

    db.executescript(
        """
        ALTER TABLE videos ADD COLUMN view_count INTEGER;
        ALTER TABLE videos ADD COLUMN like_count INTEGER;
        ALTER TABLE videos ADD COLUMN comment_count INTEGER;
        ALTER TABLE videos ADD COLUMN share_count INTEGER;
        ALTER TABLE videos ADD COLUMN counted_at INTEGER;  -- captured_at of those counters
        UPDATE videos SET (view_count, like_count, comment_count, share_count, counted_at) = (
            SELECT s.view_count, s.like_count, s.comment_count, s.share_count, s.captured_at
            FROM video_snapshots s WHERE s.video_id = videos.id
            ORDER BY s.captured_at DESC LIMIT 1);
        -- Hashtags of the title and description (services.analytics.hashtags), one row per tag.
        CREATE TABLE video_hashtags (
            video_id  TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
            tag       TEXT NOT NULL,
            PRIMARY KEY (video_id, tag)
        ) WITHOUT ROWID;
        CREATE INDEX video_hashtags_tag ON video_hashtags(tag);
        """
    )
    rows = db.execute("SELECT id, title, description FROM videos").fetchall()
    db.conn.executemany(
        "INSERT OR IGNORE INTO video_hashtags (video_id, tag) VALUES (?, ?)",
        [(vid, tag) for vid, title, description in rows for tag in video_tags(title, description)],
    )


#: SQL test of a video id that is stored as an INTEGER key: a canonical decimal (no sign, no
#: leading zero) below 2^63. TikTok's 19-digit ids all are; anything else gets a negative key.
_NUMERIC_ID = (
    "({c} GLOB '[1-9]*' AND {c} NOT GLOB '*[^0-9]*' AND (length({c}) < 19 "
    "OR (length({c}) = 19 AND {c} <= '9223372036854775807')))"
)


@MIGRATIONS(name="0008_compact_snapshots")
def _compact_snapshots(db: Database) -> None:
    # One row per video per sync is most of the cache: 220 bytes a row with a TEXT open_id in
    # every row and in its index. Integer keys instead: accounts.account_key (small, assigned
    # on insert) and videos.video_key (the id itself as an integer when it is numeric, which
    # TikTok's ids are; ids stay TEXT everywhere else). `video_snapshots` remains as a view with
    # the old columns, so readers (and writers, through the trigger) keep working; the sync and
    # the heavy queries use `video_snapshot_rows` directly.
    numeric_new = _NUMERIC_ID.format(c="NEW.id")
    numeric = _NUMERIC_ID.format(c="id")
    db.executescript(
        f"""
        ALTER TABLE accounts ADD COLUMN account_key INTEGER;
        UPDATE accounts SET account_key = (
            SELECT count(*) FROM accounts a WHERE a.rowid <= accounts.rowid);
        CREATE UNIQUE INDEX accounts_account_key ON accounts(account_key);
        CREATE TRIGGER accounts_assign_key AFTER INSERT ON accounts
        WHEN NEW.account_key IS NULL BEGIN
            UPDATE accounts SET account_key = (SELECT coalesce(max(account_key), 0) + 1
                                               FROM accounts)
            WHERE rowid = NEW.rowid;
        END;

        ALTER TABLE videos ADD COLUMN video_key INTEGER;
        UPDATE videos SET video_key = CAST(id AS INTEGER) WHERE {numeric};
        UPDATE videos SET video_key = -(
            SELECT count(*) FROM videos w WHERE w.rowid <= videos.rowid AND NOT {
                _NUMERIC_ID.format(c="w.id")})
        WHERE video_key IS NULL;
        CREATE UNIQUE INDEX videos_video_key ON videos(video_key);
        CREATE TRIGGER videos_assign_key AFTER INSERT ON videos
        WHEN NEW.video_key IS NULL BEGIN
            UPDATE videos SET video_key = CASE WHEN {numeric_new} THEN CAST(NEW.id AS INTEGER)
                ELSE (SELECT min(coalesce(min(video_key), 0), 0) - 1 FROM videos) END
            WHERE rowid = NEW.rowid;
        END;

        CREATE TABLE video_snapshot_rows (
            video_key      INTEGER NOT NULL REFERENCES videos(video_key) ON DELETE CASCADE,
            captured_at    INTEGER NOT NULL,
            account_key    INTEGER NOT NULL,
            view_count     INTEGER,
            like_count     INTEGER,
            comment_count  INTEGER,
            share_count    INTEGER,
            PRIMARY KEY (video_key, captured_at)
        ) WITHOUT ROWID;
        INSERT INTO video_snapshot_rows
        SELECT v.video_key, s.captured_at, a.account_key, s.view_count, s.like_count,
               s.comment_count, s.share_count
        FROM video_snapshots s JOIN videos v ON v.id = s.video_id
        JOIN accounts a ON a.open_id = s.open_id
        ORDER BY v.video_key, s.captured_at;
        DROP TABLE video_snapshots;
        CREATE INDEX video_snapshot_rows_account_time
            ON video_snapshot_rows(account_key, captured_at);

        CREATE VIEW video_snapshots AS
        SELECT vv.id AS video_id, r.captured_at AS captured_at, va.open_id AS open_id,
               r.view_count AS view_count, r.like_count AS like_count,
               r.comment_count AS comment_count, r.share_count AS share_count
        FROM video_snapshot_rows r
        JOIN videos vv ON vv.video_key = r.video_key
        JOIN accounts va ON va.account_key = r.account_key;
        CREATE TRIGGER video_snapshots_insert INSTEAD OF INSERT ON video_snapshots BEGIN
            INSERT INTO video_snapshot_rows (video_key, captured_at, account_key, view_count,
                                             like_count, comment_count, share_count)
            VALUES ((SELECT video_key FROM videos WHERE id = NEW.video_id), NEW.captured_at,
                    (SELECT account_key FROM accounts WHERE open_id = NEW.open_id),
                    NEW.view_count, NEW.like_count, NEW.comment_count, NEW.share_count);
            UPDATE videos SET view_count = NEW.view_count, like_count = NEW.like_count,
                              comment_count = NEW.comment_count, share_count = NEW.share_count,
                              counted_at = NEW.captured_at
            WHERE id = NEW.video_id AND (counted_at IS NULL OR counted_at <= NEW.captured_at);
        END;
        CREATE TRIGGER video_snapshots_delete INSTEAD OF DELETE ON video_snapshots BEGIN
            DELETE FROM video_snapshot_rows
            WHERE video_key = (SELECT video_key FROM videos WHERE id = OLD.video_id)
              AND captured_at = OLD.captured_at;
        END;
        """
    )


@MIGRATIONS(name="0009_connect_outcome")
def _connect_outcome(db: Database) -> None:
    db.executescript(
        """
        -- Which account a used sign-in answer connected: reloading it, pressing Back or opening
        -- it in another tab then lands quietly on "already connected" instead of an error.
        ALTER TABLE oauth_states ADD COLUMN completed_open_id TEXT;
        -- A grant-more or reconnect that came back for a different creator waits here
        -- (tokens and profile, encrypted) until an admin keeps it as an account or discards it.
        ALTER TABLE oauth_states ADD COLUMN pending_grant_enc TEXT;
        -- When accounts.follower_count was read (at connect or by the newest sync), so the
        -- Accounts card can say "as of" and match Overview for the same moment.
        ALTER TABLE accounts ADD COLUMN follower_count_at INTEGER;
        """
    )


@MIGRATIONS(name="0010_sync_schedule_and_view_state")
def _sync_schedule_and_view_state(db: Database) -> None:
    db.executescript(
        """
        -- The in-app sync schedule (services.schedule): one row. The lease (owner, until)
        -- makes one process per data dir the scheduler; the rest show what it wrote.
        CREATE TABLE sync_schedule (
            id            INTEGER PRIMARY KEY CHECK (id = 1),
            owner         TEXT,
            lease_until   INTEGER,
            next_run_at   INTEGER,
            last_run_at   INTEGER,
            last_outcome  TEXT,
            failures      INTEGER NOT NULL DEFAULT 0,
            last_error    TEXT
        );
        -- The last account and period choice of each signed-in person (dashboard.selection):
        -- a new tab or a reload without ?accounts=… in the URL opens the same view.
        CREATE TABLE view_preferences (
            actor_email   TEXT PRIMARY KEY,
            accounts      TEXT NOT NULL DEFAULT '[]',
            known         TEXT NOT NULL DEFAULT '[]',
            period        TEXT,
            updated_at    INTEGER NOT NULL
        );
        """
    )


@MIGRATIONS(name="0011_covering_run_index")
def _covering_run_index(db: Database) -> None:
    db.executescript(
        """
        -- One run's snapshots, in video order, with their views, read from the index alone:
        -- top movers and the weekly report pair every video's views at two runs. Through the
        -- old index each row cost a seek into the table, whose rows are ordered by video, so
        -- a run's rows lie all over the file (95 ms for one run of a 50,000-video account,
        -- against ~5 ms from this index; bench/README.md). It replaces the old index (same
        -- leading columns), so a snapshot row still updates one index, about 3 bytes bigger.
        DROP INDEX video_snapshot_rows_account_time;
        CREATE INDEX video_snapshot_rows_account_time
            ON video_snapshot_rows(account_key, captured_at, video_key, view_count);
        """
    )
