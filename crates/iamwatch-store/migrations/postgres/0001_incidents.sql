-- Incidents: one per CloudTrail event, labels kept in every language. The same columns as
-- SQLite's, with these differences:
-- * incident ids compare byte by byte (COLLATE "C"), so that the listing's order and its cursor
--   do not depend on the database's locale;
-- * the meta is its JSON text as iamwatch wrote it, without the runbook, and the runbook is its
--   own column (jsonb would reorder the keys and refuses a "\u0000" a user agent may hold);
-- * search_text holds what a text search matches (titles, resource, event name, the text values
--   of the meta and runbook), written when the incident is stored;
-- * raw events are plain text: PostgreSQL compresses long values itself (TOAST).
CREATE TABLE incidents (
    incident_id   TEXT COLLATE "C" PRIMARY KEY,
    event_id      TEXT NOT NULL,
    event_name    TEXT NOT NULL,
    event_type_en TEXT NOT NULL,
    event_type_ko TEXT NOT NULL,
    rule_id       TEXT NOT NULL,
    title_en      TEXT NOT NULL,
    title_ko      TEXT NOT NULL,
    resource      TEXT NOT NULL,
    severity      TEXT NOT NULL,
    severity_rank SMALLINT NOT NULL,
    status        TEXT NOT NULL,
    meta          TEXT NOT NULL,
    runbook       TEXT,
    search_text   TEXT NOT NULL,
    source        TEXT NOT NULL,
    account       TEXT NOT NULL,
    region        TEXT NOT NULL,
    event_time_ms BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    assignee      TEXT,
    raw           TEXT
);
CREATE INDEX incidents_by_time ON incidents (event_time_ms DESC, incident_id DESC);
CREATE INDEX incidents_by_updated ON incidents (updated_at);
CREATE INDEX incidents_by_status ON incidents (status, event_time_ms DESC, incident_id DESC);

-- Every lifecycle change, who made it and why. Creation is not a row: the incident's own
-- created_at records it, as in SQLite.
CREATE TABLE incident_history (
    id          BIGSERIAL PRIMARY KEY,
    incident_id TEXT COLLATE "C" NOT NULL REFERENCES incidents (incident_id),
    at_ms       BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    from_status TEXT,
    to_status   TEXT,
    assignee    TEXT,
    note        TEXT
);
CREATE INDEX incident_history_by_incident ON incident_history (incident_id, id);
