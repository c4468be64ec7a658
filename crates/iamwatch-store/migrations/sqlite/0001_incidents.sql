-- Incidents: one per CloudTrail event (event_id is unique), labels kept in every language.
CREATE TABLE incidents (
    incident_id   TEXT PRIMARY KEY,
    event_id      TEXT NOT NULL UNIQUE,
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
CREATE INDEX incidents_by_time ON incidents (event_time_ms DESC, incident_id DESC);
CREATE INDEX incidents_by_updated ON incidents (updated_at);
CREATE INDEX incidents_by_status ON incidents (status, severity_rank);

-- Every lifecycle change, who made it and why.
CREATE TABLE incident_history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id TEXT NOT NULL REFERENCES incidents (incident_id),
    at_ms       INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    from_status TEXT,
    to_status   TEXT,
    assignee    TEXT,
    note        TEXT
);
CREATE INDEX incident_history_by_incident ON incident_history (incident_id, id);
