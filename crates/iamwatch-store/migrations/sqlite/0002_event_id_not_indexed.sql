-- The event id is no longer indexed: the incident id, derived from the event's time and id,
-- tells a stored event apart (see sqlite/mod.rs, insert_one). Event ids are random, so a
-- unique index on them took inserts all over the index: a bulk scan rewrote most of its pages
-- in every batch, a third of all it wrote. SQLite cannot drop a UNIQUE constraint, so the
-- table is rebuilt (https://www.sqlite.org/lang_altertable.html#otheralter); foreign keys are
-- off meanwhile and checked after.
CREATE TABLE incidents_rebuilt (
    incident_id   TEXT PRIMARY KEY,
    event_id      TEXT NOT NULL,
    event_name    TEXT NOT NULL,
    event_type_en TEXT NOT NULL,
    event_type_ko TEXT NOT NULL,
    rule_id       TEXT NOT NULL,
    title_en      TEXT NOT NULL,
    title_ko      TEXT NOT NULL,
    resource      TEXT NOT NULL,
    severity      TEXT NOT NULL,
    severity_rank INTEGER NOT NULL,
    status        TEXT NOT NULL,
    meta          TEXT NOT NULL,
    source        TEXT NOT NULL,
    account       TEXT NOT NULL,
    region        TEXT NOT NULL,
    event_time_ms INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    assignee      TEXT,
    raw           TEXT
);
INSERT INTO incidents_rebuilt
    SELECT incident_id, event_id, event_name, event_type_en, event_type_ko, rule_id, title_en,
           title_ko, resource, severity, severity_rank, status, meta, source, account, region,
           event_time_ms, created_at, updated_at, assignee, raw
    FROM incidents ORDER BY rowid;
DROP TABLE incidents;
ALTER TABLE incidents_rebuilt RENAME TO incidents;
CREATE INDEX incidents_by_time ON incidents (event_time_ms DESC, incident_id DESC);
CREATE INDEX incidents_by_updated ON incidents (updated_at);
CREATE INDEX incidents_by_status ON incidents (status, severity_rank);
