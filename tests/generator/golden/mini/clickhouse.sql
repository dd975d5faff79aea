-- Mini schema: ClickHouse DDL.
-- One ClickHouse server (MergeTree); sql/clickhouse/cluster.sql is the same schema sharded and
--   replicated over a cluster.
-- Schema version 1. Generated from schema.yaml by liam-erd-schema; do not edit.
-- Change schema.yaml, then run `make sql`.
--
-- Targets: ClickHouse 24.8 or newer (tested on 26.9, in process through chdb 4.4).
-- Load into an empty database: clickhouse-client --database DBNAME --multiquery <
--   sql/clickhouse/schema.sql (create the database first: CREATE DATABASE DBNAME)
--
-- IMPORTANT: every writer must run (or have in its settings profile)
--     SET input_format_null_as_default = 0, insert_null_as_default = 0;
-- otherwise ClickHouse stores 0 or '' for a NULL sent to a required column (by INSERT ... VALUES or
--   INSERT ... SELECT) instead of rejecting the row.
--
-- Conventions: units in column names (BDF); positive current charges the asset; timestamps are
--   DateTime64(3, 'UTC'): millisecond precision, UTC. Enumerations are LowCardinality(String) with
--   a named CHECK of the allowed values; json columns are String checked by isValidJSON(). Every
--   CHECK is enforced on INSERT (error 469, VIOLATED_CONSTRAINT).
--
-- What this file cannot express that schema.yaml says:
--   - Foreign keys (3) are not enforced and ON DELETE is not applied: insert parents before
--     children, delete children yourself, and check with an anti-join, e.g. SELECT count() FROM
--     child LEFT ANTI JOIN parent USING (key). Each table lists its keys above it.
--   - Primary keys (4) and unique keys (1) are not enforced: they are the sort order (ORDER BY),
--     and a second row with the same key is stored as a second row. Deduplicate before inserting,
--     or read with LIMIT 1 BY <key>.
--   - No identity columns: the writer assigns device.device_id.
--   - note.note_id default to generateSnowflakeID(): unique and time-ordered, not 1, 2, 3.
--   - The timescaledb: options do not apply; the time-series tables are partitioned by month
--     instead, and the continuous aggregates are not created (a materialized view over the table
--     does the same in ClickHouse).

-- device: A device; descriptions may hold 'quotes', <tags> & | pipes.
-- Keys ClickHouse does not enforce:
--   unique: primary key (device_id)
CREATE TABLE device (
    device_id Int32 COMMENT 'Key.',
    colour LowCardinality(String) COMMENT 'Its colour. [enum: colour]',
    active Bool DEFAULT TRUE COMMENT 'Whether in use.',
    settings String DEFAULT '{}' COMMENT 'Settings as JSON.',
    CONSTRAINT ck_device_colour_enum CHECK colour IN ('red', 'blue'),
    CONSTRAINT ck_device_settings_json CHECK isValidJSON(settings)
)
ENGINE = MergeTree
ORDER BY device_id
COMMENT 'A device; descriptions may hold ''quotes'', <tags> & | pipes.';

-- passport: One passport per device (one-to-one).
-- Keys ClickHouse does not enforce:
--   unique: primary key (device_id)
--   fk_passport_device_id: (device_id) -> device (device_id) ON DELETE CASCADE
CREATE TABLE passport (
    device_id Int32 COMMENT 'The device.',
    issued_at DateTime64(3, 'UTC') COMMENT 'When issued.'
)
ENGINE = MergeTree
ORDER BY device_id
COMMENT 'One passport per device (one-to-one).';

-- reading: Time-series readings.
-- Keys ClickHouse does not enforce:
--   unique: primary key (device_id, seq)
--   unique: uq_reading_device_taken (device_id, taken_at, seq)
--   fk_reading_device_id: (device_id) -> device (device_id) ON DELETE RESTRICT
CREATE TABLE reading (
    taken_at DateTime64(3, 'UTC') COMMENT 'When.' CODEC(Delta, ZSTD(3)),
    device_id Int32 COMMENT 'The device.' CODEC(Delta, ZSTD(1)),
    seq Int32 COMMENT 'Sequence number. [range: >= 0]' CODEC(Delta, ZSTD(1)),
    voltage_volt Float32 COMMENT 'Voltage. [unit: V; range: [0, 5.05]]' CODEC(Delta, ZSTD(3)),
    level Nullable(Float64) COMMENT 'Level. [unit: fraction; range: (0, 1]]' CODEC(Delta, ZSTD(3)),
    CONSTRAINT ck_reading_seq_range CHECK seq >= 0,
    CONSTRAINT ck_reading_voltage_volt_range CHECK voltage_volt >= 0 AND voltage_volt <= CAST(5.05 AS Float32),
    CONSTRAINT ck_reading_level_range CHECK level IS NULL OR (level > 0 AND level <= 1),
    CONSTRAINT ck_reading_level_voltage CHECK ifNull(level IS NULL OR voltage_volt > 0, 1)
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(taken_at)
ORDER BY (device_id, seq)
COMMENT 'Time-series readings.';

-- note: A note on one reading.
-- Keys ClickHouse does not enforce:
--   unique: primary key (note_id)
--   fk_note_reading: (device_id, seq) -> reading (device_id, seq) ON DELETE CASCADE
CREATE TABLE note (
    note_id Int64 DEFAULT toInt64(generateSnowflakeID()) COMMENT 'Key.' CODEC(Delta, ZSTD(1)),
    device_id Int32 COMMENT 'Device of the reading.' CODEC(Delta, ZSTD(1)),
    seq Int32 COMMENT 'The reading.' CODEC(Delta, ZSTD(1)),
    taken_at DateTime64(3, 'UTC') COMMENT 'Time of the reading.' CODEC(Delta, ZSTD(3)),
    body String COMMENT 'Text.'
)
ENGINE = MergeTree
ORDER BY (device_id, seq, note_id)
COMMENT 'A note on one reading.';

-- Schema version 1, recorded where the migration runner (dbmate) keeps applied migrations.
CREATE TABLE IF NOT EXISTS schema_migrations (version String, ts DateTime DEFAULT now(), applied UInt8 DEFAULT 1) ENGINE = ReplacingMergeTree(ts) PRIMARY KEY version ORDER BY version;
INSERT INTO schema_migrations (version) VALUES ('000100');
