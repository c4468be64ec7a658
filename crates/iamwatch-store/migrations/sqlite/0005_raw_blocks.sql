-- Raw events are stored a batch at a time (see sqlite/raw_codec.rs): a batch's events, one
-- after another, compressed as one zstd frame in a row here, and each incident's raw a BLOB
-- reference to its bytes in the block. Ids are random: one never names two blocks, even after a
-- rollback. Frames with a dictionary (0003) and text raw events are still read.
CREATE TABLE raw_blocks (
    id     INTEGER PRIMARY KEY,
    data   BLOB NOT NULL,
    events INTEGER NOT NULL
);
