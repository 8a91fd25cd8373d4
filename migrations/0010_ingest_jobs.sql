-- The batch ingest job queue (ingest/jobs/pgstore). Any number of ragd
-- processes claim items with FOR UPDATE SKIP LOCKED under expiring leases.

CREATE TABLE ingest_jobs (
    id          text PRIMARY KEY,
    -- Creation order: jobs are worked on oldest first and listed newest first.
    position    bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    collection  text NOT NULL,
    sources     jsonb NOT NULL,
    options     jsonb NOT NULL,
    status      text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    -- Item counters (jobs.Progress without the running count, which is
    -- counted live from the items).
    progress    jsonb NOT NULL,
    -- Seq of the latest finished item; finished items are numbered under
    -- this row's lock, so they commit in Seq order.
    seq         bigint NOT NULL DEFAULT 0,
    next_idx    bigint NOT NULL DEFAULT 0,
    -- Items per crawl group (source index), for the crawls' page caps.
    groups      jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL,
    started_at  timestamptz,
    finished_at timestamptz,
    updated_at  timestamptz NOT NULL
);

CREATE INDEX ingest_jobs_collection ON ingest_jobs (collection, position);
CREATE INDEX ingest_jobs_open ON ingest_jobs (position) WHERE status IN ('queued', 'running');

CREATE TABLE ingest_job_items (
    job_id      text NOT NULL REFERENCES ingest_jobs (id) ON DELETE CASCADE,
    idx         bigint NOT NULL,
    kind        text NOT NULL,
    key         text NOT NULL,
    depth       integer NOT NULL DEFAULT 0,
    grp         integer NOT NULL DEFAULT -1,
    -- pending, running, or the outcome (indexed, updated, unchanged,
    -- failed, skipped, cancelled, expanded).
    status      text NOT NULL,
    attempts    integer NOT NULL DEFAULT 0,
    owner       text,
    lease_until timestamptz,
    seq         bigint,
    outcome     jsonb,
    finished_at timestamptz,
    PRIMARY KEY (job_id, idx)
);

-- Keys can be long URLs: index their hash.
CREATE UNIQUE INDEX ingest_job_items_key ON ingest_job_items (job_id, kind, md5(key));
CREATE UNIQUE INDEX ingest_job_items_seq ON ingest_job_items (job_id, seq) WHERE seq IS NOT NULL;
CREATE INDEX ingest_job_items_pending ON ingest_job_items (job_id, idx) WHERE status = 'pending';
CREATE INDEX ingest_job_items_running ON ingest_job_items (lease_until) WHERE status = 'running';
CREATE INDEX ingest_job_items_failures ON ingest_job_items (job_id, seq) WHERE status IN ('failed', 'skipped');
