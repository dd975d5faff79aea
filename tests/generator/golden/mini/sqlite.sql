-- Mini schema: SQLite DDL.
-- Schema version 1. Generated from schema.yaml by liam-erd-schema; do not edit.
-- Change schema.yaml, then run `make sql`.
--
-- Targets: SQLite 3.37 or newer (STRICT tables).
-- Load into an empty database: sqlite3 battery.db < sql/sqlite/schema.sql
--
-- IMPORTANT: SQLite enforces foreign keys only when each connection runs
--     PRAGMA foreign_keys = ON;
-- Run it on every connection (the line below only covers the loading session).
--
-- Types: timestamptz columns hold REAL Unix seconds (UTC); json columns hold TEXT checked by
--   json_valid(); integers of every width are INTEGER; real and double precision are both REAL (8
--   bytes).
--
-- What this file cannot express that schema.yaml says:
--   - No COMMENT ON: descriptions are the SQL comments beside each column.
--   - No timestamp type and no time zones: store Unix seconds (UTC) on ingest.
--   - Column widths (smallint/integer/bigint, real/double) are not enforced.
--   - The timescaledb: options apply only to sql/timescaledb/schema.sql.
--   - note.taken_at copies the taken_at of the reading row it references; here the foreign key
--     checks (device_id, seq) only.

PRAGMA foreign_keys = ON;

-- device: A device; descriptions may hold 'quotes', <tags> & | pipes.
CREATE TABLE device (
    device_id INTEGER NOT NULL,  -- Key. [rowid alias, assigned automatically]
    colour TEXT NOT NULL,  -- Its colour.
    active INTEGER NOT NULL DEFAULT 1,  -- Whether in use.
    settings TEXT NOT NULL DEFAULT '{}',  -- Settings as JSON.
    CONSTRAINT pk_device PRIMARY KEY (device_id),
    CONSTRAINT ck_device_colour_enum CHECK (colour IN ('red', 'blue')),  -- colour is one of the colour values.
    CONSTRAINT ck_device_active_bool CHECK (active IN (0, 1)),  -- active is 0 or 1.
    CONSTRAINT ck_device_settings_json CHECK (json_valid(settings))  -- settings is valid JSON.
) STRICT;

-- passport: One passport per device (one-to-one).
CREATE TABLE passport (
    device_id INTEGER NOT NULL,  -- The device.
    issued_at REAL NOT NULL,  -- When issued. [Unix seconds, UTC]
    CONSTRAINT pk_passport PRIMARY KEY (device_id),
    CONSTRAINT fk_passport_device_id FOREIGN KEY (device_id) REFERENCES device (device_id) ON DELETE CASCADE  -- ON DELETE CASCADE: The passport belongs to its device.
) STRICT, WITHOUT ROWID;

-- reading: Time-series readings.
CREATE TABLE reading (
    taken_at REAL NOT NULL,  -- When. [Unix seconds, UTC]
    device_id INTEGER NOT NULL,  -- The device.
    seq INTEGER NOT NULL,  -- Sequence number.
    voltage_volt REAL NOT NULL,  -- Voltage. [V]
    level REAL,  -- Level. [fraction]
    CONSTRAINT pk_reading PRIMARY KEY (device_id, seq),
    CONSTRAINT uq_reading_device_taken UNIQUE (device_id, taken_at, seq),
    CONSTRAINT fk_reading_device_id FOREIGN KEY (device_id) REFERENCES device (device_id) ON DELETE RESTRICT,  -- ON DELETE RESTRICT: Readings are measurements.
    CONSTRAINT ck_reading_seq_range CHECK (seq >= 0),  -- seq >= 0.
    CONSTRAINT ck_reading_voltage_volt_range CHECK (voltage_volt >= 0 AND voltage_volt <= CAST(5.05 AS REAL)),  -- voltage_volt lies in [0, 5.05].
    CONSTRAINT ck_reading_level_range CHECK (level > 0 AND level <= 1),  -- level lies in (0, 1].
    CONSTRAINT ck_reading_level_voltage CHECK (level IS NULL OR voltage_volt > 0)  -- A level needs a voltage.
) STRICT, WITHOUT ROWID;

-- note: A note on one reading.
CREATE TABLE note (
    note_id INTEGER NOT NULL,  -- Key. [rowid alias, assigned automatically]
    device_id INTEGER NOT NULL,  -- Device of the reading.
    seq INTEGER NOT NULL,  -- The reading.
    taken_at REAL NOT NULL,  -- Time of the reading. [Unix seconds, UTC]
    body TEXT NOT NULL,  -- Text.
    CONSTRAINT pk_note PRIMARY KEY (note_id),
    CONSTRAINT fk_note_reading FOREIGN KEY (device_id, seq) REFERENCES reading (device_id, seq) ON DELETE CASCADE  -- ON DELETE CASCADE: Notes die with their reading.
) STRICT;
CREATE INDEX ix_note_reading ON note (device_id, seq);

-- Schema version 1, recorded where the migration runner (dbmate) keeps applied migrations.
CREATE TABLE IF NOT EXISTS schema_migrations (version varchar(128) PRIMARY KEY);
INSERT INTO schema_migrations (version) VALUES ('000100'), ('000101');
