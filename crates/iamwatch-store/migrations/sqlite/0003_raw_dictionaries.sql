-- Raw events are stored compressed (see sqlite/raw_codec.rs): a zstd frame made with a
-- dictionary trained on the database's own first large batch, as a BLOB in incidents.raw; the
-- frame names its dictionary by id. A TEXT raw (stored before, or in a batch too small to train
-- on) is the event as it came.
CREATE TABLE raw_dictionaries (
    id         INTEGER PRIMARY KEY,
    dictionary BLOB NOT NULL,
    samples    INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
