-- Battery SOC/SOH schema: ClickHouse DDL.
-- One ClickHouse server (MergeTree); sql/clickhouse/cluster.sql is the same schema sharded and
--   replicated over a cluster.
-- Schema version 5. Generated from schema.yaml by liam-erd-schema; do not edit.
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
--   - Foreign keys (23) are not enforced and ON DELETE is not applied: insert parents before
--     children, delete children yourself, and check with an anti-join, e.g. SELECT count() FROM
--     child LEFT ANTI JOIN parent USING (key). Each table lists its keys above it.
--   - Primary keys (17) and unique keys (7) are not enforced: they are the sort order (ORDER BY),
--     and a second row with the same key is stored as a second row. Deduplicate before inserting,
--     or read with LIMIT 1 BY <key>.
--   - No identity columns: the writer assigns battery_pack.pack_id, battery_cell.cell_id,
--     test_session.session_id, model_run.run_id, source_file.source_file_id.
--   - label_soc.label_soc_id, label_soh.label_soh_id, prediction.prediction_id,
--     eis_spectrum.spectrum_id default to generateSnowflakeID(): unique and time-ordered, not 1, 2,
--     3.
--   - The timescaledb: options do not apply; the time-series tables are partitioned by month
--     instead, and the continuous aggregates are not created (a materialized view over the table
--     does the same in ClickHouse).

-- battery_pack: A battery pack: cells connected in series and parallel, tested as one asset.
-- Keys ClickHouse does not enforce:
--   unique: primary key (pack_id)
--   unique: uq_battery_pack_serial (manufacturer, serial_number)
CREATE TABLE battery_pack (
    pack_id Int32 COMMENT 'Surrogate key of the pack.',
    manufacturer Nullable(String) COMMENT 'Who built the pack; NULL when the data set does not say (many public ones).',
    model_name Nullable(String) COMMENT 'The manufacturer''s model designation; NULL when unknown.',
    serial_number Nullable(String) COMMENT 'Serial number, unique per manufacturer; NULL when unknown.',
    chemistry LowCardinality(String) COMMENT 'Chemistry of the cells in the pack. [enum: chemistry]',
    cathode_chemistry LowCardinality(Nullable(String)) COMMENT 'Positive electrode material of its cells; NULL when unknown. [enum: cathode_chemistry]',
    anode_chemistry LowCardinality(Nullable(String)) COMMENT 'Negative electrode material of its cells; NULL when unknown. [enum: anode_chemistry]',
    series_count Int16 COMMENT 'Number of cells (or parallel groups) in series. [range: >= 1]',
    parallel_count Int16 COMMENT 'Number of cells in parallel in each series group. [range: >= 1]',
    nominal_capacity_ah Float32 COMMENT 'Rated capacity of the pack. [unit: Ah; range: > 0]',
    nominal_voltage_volt Float32 COMMENT 'Rated voltage of the pack. [unit: V; range: > 0]',
    voltage_min_volt Float32 COMMENT 'Lower voltage limit of the pack. [unit: V; range: >= 0]',
    voltage_max_volt Float32 COMMENT 'Upper voltage limit of the pack. [unit: V; range: > 0]',
    notes Nullable(String) COMMENT 'Free text, e.g. the chemistry when it is OTHER.',
    CONSTRAINT ck_battery_pack_chemistry_enum CHECK chemistry IN ('NMC', 'NCA', 'LFP', 'LCO', 'LMO', 'LTO', 'NA_ION', 'OTHER'),
    CONSTRAINT ck_battery_pack_cathode_chemistry_enum CHECK cathode_chemistry IS NULL OR (cathode_chemistry IN ('NMC', 'NCA', 'LFP', 'LMFP', 'LCO', 'LMO', 'NA_LAYERED_OXIDE', 'NA_PRUSSIAN_BLUE', 'OTHER')),
    CONSTRAINT ck_battery_pack_anode_chemistry_enum CHECK anode_chemistry IS NULL OR (anode_chemistry IN ('graphite', 'silicon_graphite', 'LTO', 'hard_carbon', 'lithium_metal', 'OTHER')),
    CONSTRAINT ck_battery_pack_series_count_range CHECK series_count >= 1,
    CONSTRAINT ck_battery_pack_parallel_count_range CHECK parallel_count >= 1,
    CONSTRAINT ck_battery_pack_nominal_capacity_ah_range CHECK nominal_capacity_ah > 0,
    CONSTRAINT ck_battery_pack_nominal_voltage_volt_range CHECK nominal_voltage_volt > 0,
    CONSTRAINT ck_battery_pack_voltage_min_volt_range CHECK voltage_min_volt >= 0,
    CONSTRAINT ck_battery_pack_voltage_max_volt_range CHECK voltage_max_volt > 0,
    CONSTRAINT ck_battery_pack_voltage_limits CHECK voltage_min_volt < voltage_max_volt
)
ENGINE = MergeTree
ORDER BY pack_id
COMMENT 'A battery pack: cells connected in series and parallel, tested as one asset.';

-- battery_cell: A single cell, loose or mounted in a pack at a series/parallel position.
-- Keys ClickHouse does not enforce:
--   unique: primary key (cell_id)
--   unique: uq_battery_cell_serial (manufacturer, serial_number)
--   unique: uq_battery_cell_position (pack_id, series_position, parallel_position)
--   fk_battery_cell_pack_id: (pack_id) -> battery_pack (pack_id) ON DELETE RESTRICT
CREATE TABLE battery_cell (
    cell_id Int32 COMMENT 'Surrogate key of the cell.',
    pack_id Nullable(Int32) COMMENT 'The pack this cell is mounted in; NULL for a loose cell.',
    series_position Nullable(Int16) COMMENT '1-based series position in the pack; NULL for a loose cell. [range: >= 1]',
    parallel_position Nullable(Int16) COMMENT '1-based parallel position within its series group; NULL for a loose cell. [range: >= 1]',
    manufacturer Nullable(String) COMMENT 'Who built the cell; NULL when the data set does not say (many public ones).',
    model_name Nullable(String) COMMENT 'The manufacturer''s model designation, e.g. INR21700-50E; NULL when unknown.',
    serial_number Nullable(String) COMMENT 'Serial number, unique per manufacturer; NULL when unknown.',
    chemistry LowCardinality(String) COMMENT 'Chemistry family of the cell. [enum: chemistry]',
    cathode_chemistry LowCardinality(Nullable(String)) COMMENT 'Positive electrode material; NULL when unknown. [enum: cathode_chemistry]',
    anode_chemistry LowCardinality(Nullable(String)) COMMENT 'Negative electrode material; NULL when unknown. [enum: anode_chemistry]',
    form_factor LowCardinality(String) COMMENT 'Mechanical format of the cell. [enum: form_factor]',
    nominal_capacity_ah Float32 COMMENT 'Rated capacity from the datasheet. [unit: Ah; range: > 0]',
    nominal_voltage_volt Float32 COMMENT 'Rated voltage from the datasheet. [unit: V; range: > 0]',
    voltage_min_volt Float32 COMMENT 'Discharge cut-off voltage from the datasheet. [unit: V; range: >= 0]',
    voltage_max_volt Float32 COMMENT 'Charge cut-off voltage from the datasheet. [unit: V; range: > 0]',
    notes Nullable(String) COMMENT 'Free text.',
    CONSTRAINT ck_battery_cell_series_position_range CHECK series_position IS NULL OR (series_position >= 1),
    CONSTRAINT ck_battery_cell_parallel_position_range CHECK parallel_position IS NULL OR (parallel_position >= 1),
    CONSTRAINT ck_battery_cell_chemistry_enum CHECK chemistry IN ('NMC', 'NCA', 'LFP', 'LCO', 'LMO', 'LTO', 'NA_ION', 'OTHER'),
    CONSTRAINT ck_battery_cell_cathode_chemistry_enum CHECK cathode_chemistry IS NULL OR (cathode_chemistry IN ('NMC', 'NCA', 'LFP', 'LMFP', 'LCO', 'LMO', 'NA_LAYERED_OXIDE', 'NA_PRUSSIAN_BLUE', 'OTHER')),
    CONSTRAINT ck_battery_cell_anode_chemistry_enum CHECK anode_chemistry IS NULL OR (anode_chemistry IN ('graphite', 'silicon_graphite', 'LTO', 'hard_carbon', 'lithium_metal', 'OTHER')),
    CONSTRAINT ck_battery_cell_form_factor_enum CHECK form_factor IN ('cylindrical', 'pouch', 'prismatic', 'coin'),
    CONSTRAINT ck_battery_cell_nominal_capacity_ah_range CHECK nominal_capacity_ah > 0,
    CONSTRAINT ck_battery_cell_nominal_voltage_volt_range CHECK nominal_voltage_volt > 0,
    CONSTRAINT ck_battery_cell_voltage_min_volt_range CHECK voltage_min_volt >= 0,
    CONSTRAINT ck_battery_cell_voltage_max_volt_range CHECK voltage_max_volt > 0,
    CONSTRAINT ck_battery_cell_voltage_limits CHECK voltage_min_volt < voltage_max_volt,
    CONSTRAINT ck_battery_cell_position_with_pack CHECK ifNull((pack_id IS NULL AND series_position IS NULL AND parallel_position IS NULL) OR (pack_id IS NOT NULL AND series_position IS NOT NULL AND parallel_position IS NOT NULL), 1)
)
ENGINE = MergeTree
ORDER BY cell_id
COMMENT 'A single cell, loose or mounted in a pack at a series/parallel position.';

-- test_session: One run of one test protocol on exactly one asset (a pack or a cell), usually one file exported by a cycler.
-- Keys ClickHouse does not enforce:
--   unique: primary key (session_id)
--   fk_test_session_pack_id: (pack_id) -> battery_pack (pack_id) ON DELETE RESTRICT
--   fk_test_session_cell_id: (cell_id) -> battery_cell (cell_id) ON DELETE RESTRICT
CREATE TABLE test_session (
    session_id Int32 COMMENT 'Surrogate key of the session.',
    pack_id Nullable(Int32) COMMENT 'The pack under test; NULL when the asset is a cell.',
    cell_id Nullable(Int32) COMMENT 'The cell under test; NULL when the asset is a pack.',
    protocol_name String COMMENT 'Name of the test protocol, e.g. "RPT 0.5C" or "UDDS x10".',
    protocol_version Nullable(String) COMMENT 'Version of the protocol definition; NULL when the data set does not say.',
    protocol_type LowCardinality(String) COMMENT 'What the session is for. [enum: protocol_type]',
    equipment Nullable(String) COMMENT 'Cycler or test equipment, maker and model; NULL when unknown (simulations).',
    channel Nullable(String) COMMENT 'Channel of the cycler the asset was connected to.',
    ambient_temperature_celsius Nullable(Float32) COMMENT 'Set point of the climate chamber, or measured ambient temperature. [unit: degC; range: [-60, 150]]',
    charge_c_rate Nullable(Float32) COMMENT 'Nominal charge rate of the protocol. [unit: C; range: > 0]',
    discharge_c_rate Nullable(Float32) COMMENT 'Nominal discharge rate of the protocol. [unit: C; range: > 0]',
    started_at DateTime64(3, 'UTC') COMMENT 'When the session started (UTC); test_time_second counts from here. A simulation has no absolute time: it states a nominal start and says so in the notes.',
    source_file Nullable(String) COMMENT 'Path or URI of the main cycler file (version 1); every file of the session, with its hash, format and assumed time zone, is in source_file.',
    notes Nullable(String) COMMENT 'Free text.',
    INDEX ix_test_session_pack pack_id TYPE minmax GRANULARITY 1,
    INDEX ix_test_session_cell cell_id TYPE minmax GRANULARITY 1,
    CONSTRAINT ck_test_session_protocol_type_enum CHECK protocol_type IN ('cycle_aging', 'rpt', 'hppc', 'ocv', 'drive_cycle', 'eis', 'calendar_aging'),
    CONSTRAINT ck_test_session_ambient_temperature_celsius_range CHECK ambient_temperature_celsius IS NULL OR (ambient_temperature_celsius >= -60 AND ambient_temperature_celsius <= 150),
    CONSTRAINT ck_test_session_charge_c_rate_range CHECK charge_c_rate IS NULL OR (charge_c_rate > 0),
    CONSTRAINT ck_test_session_discharge_c_rate_range CHECK discharge_c_rate IS NULL OR (discharge_c_rate > 0),
    CONSTRAINT ck_test_session_one_asset CHECK ifNull((pack_id IS NULL) <> (cell_id IS NULL), 1)
)
ENGINE = MergeTree
ORDER BY session_id
COMMENT 'One run of one test protocol on exactly one asset (a pack or a cell), usually one file exported by a cycler.';

-- cycle: One charge/discharge cycle of a session, segmented from its samples. Keyed by the cycler's own cycle counter; records the range of sample record indexes it spans, so the samples of a cycle are found through the time-series primary key without an extra index.
-- Keys ClickHouse does not enforce:
--   unique: primary key (session_id, cycle_index)
--   fk_cycle_session_id: (session_id) -> test_session (session_id) ON DELETE RESTRICT
CREATE TABLE cycle (
    session_id Int32 COMMENT 'The session this cycle belongs to.',
    cycle_index Int32 COMMENT 'The cycle: the value of the cycler''s cycle counter (timeseries_point.cycle_count) its samples carry; never renumbered. [range: >= 0]',
    record_index_first Int32 COMMENT 'record_index of the first sample of the cycle. [range: >= 0]',
    record_index_last Int32 COMMENT 'record_index of the last sample of the cycle. [range: >= 0]',
    test_time_start_second Float64 COMMENT 'test_time_second of the first sample. [unit: s; range: >= 0]',
    test_time_end_second Float64 COMMENT 'test_time_second of the last sample. [unit: s; range: >= 0]',
    cycle_type LowCardinality(Nullable(String)) COMMENT 'Formation, ageing or reference (RPT/diagnostic) cycle; NULL when the protocol does not say. Capacity-based SOH is normally computed on reference cycles only. [enum: cycle_type]',
    cycle_type_source LowCardinality(Nullable(String)) COMMENT 'How cycle_type was found: from the protocol, or from the data (a C-rate or cycling pattern change inside the session); NULL when cycle_type is NULL. [enum: cycle_type_source]',
    CONSTRAINT ck_cycle_cycle_index_range CHECK cycle_index >= 0,
    CONSTRAINT ck_cycle_record_index_first_range CHECK record_index_first >= 0,
    CONSTRAINT ck_cycle_record_index_last_range CHECK record_index_last >= 0,
    CONSTRAINT ck_cycle_test_time_start_second_range CHECK test_time_start_second >= 0,
    CONSTRAINT ck_cycle_test_time_end_second_range CHECK test_time_end_second >= 0,
    CONSTRAINT ck_cycle_cycle_type_enum CHECK cycle_type IS NULL OR (cycle_type IN ('formation', 'aging', 'reference', 'other')),
    CONSTRAINT ck_cycle_cycle_type_source_enum CHECK cycle_type_source IS NULL OR (cycle_type_source IN ('protocol', 'data_c_rate', 'data_protocol', 'manual')),
    CONSTRAINT ck_cycle_record_order CHECK record_index_last >= record_index_first,
    CONSTRAINT ck_cycle_type_source CHECK ifNull(cycle_type_source IS NULL OR cycle_type IS NOT NULL, 1)
)
ENGINE = MergeTree
ORDER BY (session_id, cycle_index)
COMMENT 'One charge/discharge cycle of a session, segmented from its samples. Keyed by the cycler''s own cycle counter; records the range of sample record indexes it spans, so the samples of a cycle are found through the time-series primary key without an extra index.';

-- timeseries_point: One sample recorded by the cycler, named as the Battery Data Format (BDF) names it. Keyed by session and record index; columns are ordered widest first so PostgreSQL stores a row without alignment padding (a migration from version 1 appends new columns at the end). The optional channels cost nothing in PostgreSQL while NULL. Samples are never deleted by a cascade.
-- Keys ClickHouse does not enforce:
--   unique: primary key (session_id, record_index)
--   fk_timeseries_point_session_id: (session_id) -> test_session (session_id) ON DELETE RESTRICT
CREATE TABLE timeseries_point (
    recorded_at DateTime64(3, 'UTC') COMMENT 'Absolute time of the sample (UTC; BDF unix_time_second holds the same instant as seconds, so the name stays: this column is a timestamp, not seconds). Required: the TimescaleDB hypertable is partitioned on it; a simulation uses its nominal start.' CODEC(Delta, ZSTD(3)),
    test_time_second Float64 COMMENT 'Seconds since the session started. Sampling is not uniform and may step back. [unit: s; range: >= 0]' CODEC(Delta, ZSTD(3)),
    step_time_second Nullable(Float64) COMMENT 'Seconds since the current step started (BDF step_time_second); NULL when not logged. [unit: s; range: >= 0]' CODEC(Delta, ZSTD(3)),
    charging_capacity_ah Nullable(Float64) COMMENT 'The cycler''s cumulative charge into the asset since the test started (BDF charging_capacity_ah); double precision because re-integrating logged samples is less accurate than the cycler''s own counter. NULL when the file has none. [unit: Ah; range: >= 0]' CODEC(Delta, ZSTD(3)),
    discharging_capacity_ah Nullable(Float64) COMMENT 'The cycler''s cumulative charge out of the asset since the test started (BDF discharging_capacity_ah). [unit: Ah; range: >= 0]' CODEC(Delta, ZSTD(3)),
    charging_energy_wh Nullable(Float64) COMMENT 'The cycler''s cumulative energy into the asset since the test started (BDF charging_energy_wh). [unit: Wh; range: >= 0]' CODEC(Delta, ZSTD(3)),
    discharging_energy_wh Nullable(Float64) COMMENT 'The cycler''s cumulative energy out of the asset since the test started (BDF discharging_energy_wh). [unit: Wh; range: >= 0]' CODEC(Delta, ZSTD(3)),
    session_id Int32 COMMENT 'The session the sample belongs to.' CODEC(Delta, ZSTD(1)),
    record_index Int32 COMMENT 'The cycler''s sample number within the session (BDF record_index). [range: >= 0]' CODEC(Delta, ZSTD(1)),
    cycle_count Int32 COMMENT 'The cycler''s cycle counter at this sample (BDF cycle_count; cycle_index in version 1); non-decreasing; cycle.cycle_index of the cycle the sample belongs to. [range: >= 0]' CODEC(Delta, ZSTD(1)),
    step_count Nullable(Int32) COMMENT 'Ever-increasing step counter of the session (BDF step_count); integer, because a long test passes 32,767 steps. NULL when the file has none. [range: >= 0]' CODEC(Delta, ZSTD(1)),
    voltage_volt Float32 COMMENT 'Terminal voltage of the asset. [unit: V; range: [-5, 1500]]' CODEC(Delta, ZSTD(3)),
    current_ampere Float32 COMMENT 'Current; positive charges the asset. [unit: A; range: [-5000, 5000]]' CODEC(Delta, ZSTD(3)),
    surface_temperature_celsius Nullable(Float32) COMMENT 'Temperature at the surface of the asset (BDF surface_temperature_celsius; temperature_celsius in version 1); NULL when not measured. [unit: degC; range: [-60, 200]]' CODEC(Delta, ZSTD(3)),
    ambient_temperature_celsius Nullable(Float32) COMMENT 'Measured ambient (chamber) temperature (BDF ambient_temperature_celsius); NULL when not measured. [unit: degC; range: [-60, 200]]' CODEC(Delta, ZSTD(3)),
    temperature_t1_celsius Nullable(Float32) COMMENT 'Auxiliary temperature channel 1 (BDF T1); placement is in the session notes. [unit: degC; range: [-60, 200]]' CODEC(Delta, ZSTD(3)),
    temperature_t2_celsius Nullable(Float32) COMMENT 'Auxiliary temperature channel 2 (BDF T2). [unit: degC; range: [-60, 200]]' CODEC(Delta, ZSTD(3)),
    temperature_t3_celsius Nullable(Float32) COMMENT 'Auxiliary temperature channel 3 (BDF T3). [unit: degC; range: [-60, 200]]' CODEC(Delta, ZSTD(3)),
    internal_resistance_ohm Nullable(Float32) COMMENT 'The cycler''s own internal-resistance reading at this sample (BDF internal_resistance or dc_internal_resistance, Arbin Internal_Resistance, Maccor DCIR), as the file writes it: a cycler repeats its last reading until it measures again, and Arbin and Maccor write 0 where they measured nothing. NULL when the file has no such column. [unit: ohm; range: [0, 1000]]' CODEC(Delta, ZSTD(3)),
    step_id Nullable(Int16) COMMENT 'The program step the cycler was executing (BDF step_id, Arbin Step_Index; step_index in version 1, renamed because BDF''s step_index is a count within a step). An identifier from the program, not a counter: it repeats every cycle and stays far below 32,767 (step_count is the counter). NULL when the file has none. [range: >= 0]' CODEC(Delta, ZSTD(1)),
    step_type LowCardinality(Nullable(String)) COMMENT 'What the step was doing (BDF step_type); NULL when the cycler does not say. [enum: step_type]',
    INDEX ix_timeseries_point_session_time (session_id, recorded_at) TYPE minmax GRANULARITY 1,
    CONSTRAINT ck_timeseries_point_test_time_second_range CHECK test_time_second >= 0,
    CONSTRAINT ck_timeseries_point_step_time_second_range CHECK step_time_second IS NULL OR (step_time_second >= 0),
    CONSTRAINT ck_timeseries_point_charging_capacity_ah_range CHECK charging_capacity_ah IS NULL OR (charging_capacity_ah >= 0),
    CONSTRAINT ck_timeseries_point_discharging_capacity_ah_range CHECK discharging_capacity_ah IS NULL OR (discharging_capacity_ah >= 0),
    CONSTRAINT ck_timeseries_point_charging_energy_wh_range CHECK charging_energy_wh IS NULL OR (charging_energy_wh >= 0),
    CONSTRAINT ck_timeseries_point_discharging_energy_wh_range CHECK discharging_energy_wh IS NULL OR (discharging_energy_wh >= 0),
    CONSTRAINT ck_timeseries_point_record_index_range CHECK record_index >= 0,
    CONSTRAINT ck_timeseries_point_cycle_count_range CHECK cycle_count >= 0,
    CONSTRAINT ck_timeseries_point_step_count_range CHECK step_count IS NULL OR (step_count >= 0),
    CONSTRAINT ck_timeseries_point_voltage_volt_range CHECK voltage_volt >= -5 AND voltage_volt <= 1500,
    CONSTRAINT ck_timeseries_point_current_ampere_range CHECK current_ampere >= -5000 AND current_ampere <= 5000,
    CONSTRAINT ck_timeseries_point_surface_temperature_celsius_range CHECK surface_temperature_celsius IS NULL OR (surface_temperature_celsius >= -60 AND surface_temperature_celsius <= 200),
    CONSTRAINT ck_timeseries_point_ambient_temperature_celsius_range CHECK ambient_temperature_celsius IS NULL OR (ambient_temperature_celsius >= -60 AND ambient_temperature_celsius <= 200),
    CONSTRAINT ck_timeseries_point_temperature_t1_celsius_range CHECK temperature_t1_celsius IS NULL OR (temperature_t1_celsius >= -60 AND temperature_t1_celsius <= 200),
    CONSTRAINT ck_timeseries_point_temperature_t2_celsius_range CHECK temperature_t2_celsius IS NULL OR (temperature_t2_celsius >= -60 AND temperature_t2_celsius <= 200),
    CONSTRAINT ck_timeseries_point_temperature_t3_celsius_range CHECK temperature_t3_celsius IS NULL OR (temperature_t3_celsius >= -60 AND temperature_t3_celsius <= 200),
    CONSTRAINT ck_timeseries_point_internal_resistance_ohm_range CHECK internal_resistance_ohm IS NULL OR (internal_resistance_ohm >= 0 AND internal_resistance_ohm <= 1000),
    CONSTRAINT ck_timeseries_point_step_id_range CHECK step_id IS NULL OR (step_id >= 0),
    CONSTRAINT ck_timeseries_point_step_type_enum CHECK step_type IS NULL OR (step_type IN ('cc_charge', 'cv_charge', 'cccv_charge', 'cc_discharge', 'cv_discharge', 'cp_discharge', 'dynamic', 'rest', 'ocv', 'pulse', 'eis', 'other'))
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(recorded_at)
ORDER BY (session_id, record_index)
COMMENT 'One sample recorded by the cycler, named as the Battery Data Format (BDF) names it. Keyed by session and record index; columns are ordered widest first so PostgreSQL stores a row without alignment padding (a migration from version 1 appends new columns at the end). The optional channels cost nothing in PostgreSQL while NULL. Samples are never deleted by a cascade.';

-- cell_channel_point: The channels of one cell recorded with one sample of a pack test (cell voltage, cell temperature): pack-to-cell analysis, e.g. the cell voltage spread per cycle. Joined to the pack's sample on (session_id, record_index); the cell is one of the pack's cells.
-- Keys ClickHouse does not enforce:
--   unique: primary key (session_id, record_index, cell_id)
--   fk_cell_channel_point_cell_id: (cell_id) -> battery_cell (cell_id) ON DELETE RESTRICT
--   fk_cell_channel_point_point: (session_id, record_index) -> timeseries_point (session_id, record_index) ON DELETE CASCADE
CREATE TABLE cell_channel_point (
    recorded_at DateTime64(3, 'UTC') COMMENT 'Time of the pack''s sample, copied from it; part of the key of a sample on TimescaleDB and lets time windows be cut without the samples.' CODEC(Delta, ZSTD(3)),
    session_id Int32 COMMENT 'The pack''s session.' CODEC(Delta, ZSTD(1)),
    record_index Int32 COMMENT 'The pack''s sample these cell channels were recorded with.' CODEC(Delta, ZSTD(1)),
    cell_id Int32 COMMENT 'The cell measured.' CODEC(Delta, ZSTD(1)),
    voltage_volt Float32 COMMENT 'Cell voltage; a single cell never exceeds 10 V, a reversed cell may go negative. [unit: V; range: [-5, 10]]' CODEC(Delta, ZSTD(3)),
    temperature_celsius Nullable(Float32) COMMENT 'Cell temperature; NULL when the cell has no sensor. [unit: degC; range: [-60, 200]]' CODEC(Delta, ZSTD(3)),
    INDEX ix_cell_channel_point_cell cell_id TYPE minmax GRANULARITY 1,
    CONSTRAINT ck_cell_channel_point_voltage_volt_range CHECK voltage_volt >= -5 AND voltage_volt <= 10,
    CONSTRAINT ck_cell_channel_point_temperature_celsius_range CHECK temperature_celsius IS NULL OR (temperature_celsius >= -60 AND temperature_celsius <= 200)
)
ENGINE = MergeTree
ORDER BY (session_id, record_index, cell_id)
COMMENT 'The channels of one cell recorded with one sample of a pack test (cell voltage, cell temperature): pack-to-cell analysis, e.g. the cell voltage spread per cycle. Joined to the pack''s sample on (session_id, record_index); the cell is one of the pack''s cells.';

-- cycle_feature: Features of one cycle computed by one version of the feature extractor; the inputs of SOH models. Several extractor versions may describe the same cycle.
-- Keys ClickHouse does not enforce:
--   unique: primary key (session_id, cycle_index, feature_version)
--   fk_cycle_feature_cycle: (session_id, cycle_index) -> cycle (session_id, cycle_index) ON DELETE CASCADE
CREATE TABLE cycle_feature (
    session_id Int32 COMMENT 'The session of the cycle.',
    cycle_index Int32 COMMENT 'The cycle these features describe.',
    feature_version String COMMENT 'Version of the feature-extraction code.',
    charge_capacity_ah Nullable(Float32) COMMENT 'Charge throughput while charging in this cycle. [unit: Ah; range: >= 0]',
    discharge_capacity_ah Nullable(Float32) COMMENT 'Charge delivered while discharging in this cycle. [unit: Ah; range: >= 0]',
    charge_energy_wh Nullable(Float32) COMMENT 'Energy taken in while charging. [unit: Wh; range: >= 0]',
    discharge_energy_wh Nullable(Float32) COMMENT 'Energy delivered while discharging. [unit: Wh; range: >= 0]',
    coulombic_efficiency Nullable(Float32) COMMENT 'Discharge capacity / charge capacity. No upper bound: a full cycle is about 1 (slightly above from measurement noise), but the partial first and last cycles of a file (a discharge from a charged state, a charge cut short) give any positive ratio. Strict only where physics is: it is positive. [unit: fraction; range: > 0]',
    energy_efficiency Nullable(Float32) COMMENT 'Discharge energy / charge energy. No upper bound, for the same reason as coulombic_efficiency: partial first and last cycles give any positive ratio. [unit: fraction; range: > 0]',
    dc_internal_resistance_ohm Nullable(Float32) COMMENT 'DC internal resistance from a current step in this cycle (BDF dc_internal_resistance_ohm). Only comparable between cycles measured with the same pulse current, duration and SOC (the three columns below). [unit: ohm; range: > 0]',
    dcir_pulse_current_ampere Nullable(Float32) COMMENT 'Current of the pulse the resistance was measured with; positive charges. [unit: A; range: [-5000, 5000]]',
    dcir_pulse_duration_second Nullable(Float32) COMMENT 'Duration of the pulse after which the voltage drop was read (e.g. 10 s). [unit: s; range: > 0]',
    dcir_soc Nullable(Float32) COMMENT 'SOC at which the pulse was applied. [unit: fraction; range: [0, 1]]',
    dcir_method LowCardinality(Nullable(String)) COMMENT 'How dc_internal_resistance_ohm was obtained: a dedicated pulse, ordinary step changes of current, or the cycler''s own reading; NULL when there is no value. [enum: dcir_method]',
    dcir_time_after_step_second Nullable(Float32) COMMENT 'Time after the current change at which the voltage was read for dc_internal_resistance_ohm (for the first sample after the change: that sample''s own interval); NULL when not known. [unit: s; range: > 0]',
    dcir_step_count Nullable(Int32) COMMENT 'Number of current steps dc_internal_resistance_ohm aggregates (step_change); NULL otherwise. [range: >= 1]',
    step_resistance_first_sample_ohm Nullable(Float32) COMMENT 'Median over the cycle''s step changes of current (rest to load, load to rest, between load levels) of |dV/dI| read at the first sample after the change (about the ohmic resistance); NULL when the cycle has no usable step. [unit: ohm; range: > 0]',
    step_resistance_first_sample_second Nullable(Float32) COMMENT 'Median time after the change of the first samples step_resistance_first_sample_ohm used. [unit: s; range: > 0]',
    step_resistance_1s_ohm Nullable(Float32) COMMENT 'As step_resistance_first_sample_ohm, with the voltage read 1 s after the change; NULL when the sampling or the step is too coarse or short. [unit: ohm; range: > 0]',
    step_resistance_10s_ohm Nullable(Float32) COMMENT 'As step_resistance_first_sample_ohm, with the voltage read 10 s after the change (charge transfer and diffusion included). [unit: ohm; range: > 0]',
    step_resistance_count Nullable(Int32) COMMENT 'Number of step changes the step_resistance_* medians are taken over. [range: >= 1]',
    cycler_resistance_ohm Nullable(Float32) COMMENT 'Mean of the cycler''s own resistance readings in the cycle (Arbin Internal_Resistance, ACR); NULL when the file carries none. [unit: ohm; range: > 0]',
    voltage_max_volt Nullable(Float32) COMMENT 'Highest voltage in the cycle. [unit: V]',
    voltage_min_volt Nullable(Float32) COMMENT 'Lowest voltage in the cycle. [unit: V]',
    voltage_mean_volt Nullable(Float32) COMMENT 'Time-weighted mean voltage. [unit: V]',
    charge_voltage_mean_volt Nullable(Float32) COMMENT 'Time-weighted mean voltage while charging (current > 0); NULL when the cycle does not charge. [unit: V]',
    discharge_voltage_mean_volt Nullable(Float32) COMMENT 'Time-weighted mean voltage while discharging (current < 0); NULL when the cycle does not discharge. [unit: V]',
    current_max_ampere Nullable(Float32) COMMENT 'Highest (charging) current. [unit: A]',
    current_min_ampere Nullable(Float32) COMMENT 'Lowest (most negative, discharging) current. [unit: A]',
    temperature_max_celsius Nullable(Float32) COMMENT 'Highest temperature. [unit: degC]',
    temperature_mean_celsius Nullable(Float32) COMMENT 'Time-weighted mean temperature. [unit: degC]',
    temperature_min_celsius Nullable(Float32) COMMENT 'Lowest temperature. [unit: degC]',
    cv_time_second Nullable(Float32) COMMENT 'Time spent in the constant-voltage phase of the charge. [unit: s; range: >= 0]',
    cv_capacity_ah Nullable(Float32) COMMENT 'Charge taken in during the constant-voltage phase. [unit: Ah; range: >= 0]',
    charge_throughput_ah Nullable(Float64) COMMENT 'Cumulative charge throughput of the asset up to the end of this cycle. [unit: Ah; range: >= 0]',
    relaxation_time_1_second Nullable(Float32) COMMENT 'The first stated time after the current stops at which the rest voltages *_t1_volt are read (e.g. 10 s); NULL when no relaxation was derived. [unit: s; range: > 0]',
    relaxation_time_2_second Nullable(Float32) COMMENT 'The second stated time (e.g. 300 s) of the rest voltages *_t2_volt. [unit: s; range: > 0]',
    rest_after_charge_voltage_start_volt Nullable(Float32) COMMENT 'Voltage of the first sample of the first rest after the cycle''s charge (current zero); NULL when the charge is not followed by a rest. [unit: V]',
    rest_after_charge_voltage_t1_volt Nullable(Float32) COMMENT 'Voltage relaxation_time_1_second into that rest; NULL when the rest is shorter. [unit: V]',
    rest_after_charge_voltage_t2_volt Nullable(Float32) COMMENT 'Voltage relaxation_time_2_second into that rest; NULL when the rest is shorter. [unit: V]',
    rest_after_charge_voltage_end_volt Nullable(Float32) COMMENT 'Voltage of the last sample of that rest. [unit: V]',
    rest_after_charge_duration_second Nullable(Float32) COMMENT 'Length of that rest. [unit: s; range: >= 0]',
    rest_after_discharge_voltage_start_volt Nullable(Float32) COMMENT 'Voltage of the first sample of the first rest after the cycle''s discharge; NULL when none. [unit: V]',
    rest_after_discharge_voltage_t1_volt Nullable(Float32) COMMENT 'Voltage relaxation_time_1_second into that rest; NULL when the rest is shorter. [unit: V]',
    rest_after_discharge_voltage_t2_volt Nullable(Float32) COMMENT 'Voltage relaxation_time_2_second into that rest; NULL when the rest is shorter. [unit: V]',
    rest_after_discharge_voltage_end_volt Nullable(Float32) COMMENT 'Voltage of the last sample of that rest. [unit: V]',
    rest_after_discharge_duration_second Nullable(Float32) COMMENT 'Length of that rest. [unit: s; range: >= 0]',
    null_reasons Nullable(String) COMMENT 'Why features of this row are NULL, as a JSON object column name -> reason, e.g. {"rest_after_charge_voltage_t2_volt": "rest shorter than 300 s"}; NULL when no feature the version computes is missing for a reason worth stating.',
    CONSTRAINT ck_cycle_feature_charge_capacity_ah_range CHECK charge_capacity_ah IS NULL OR (charge_capacity_ah >= 0),
    CONSTRAINT ck_cycle_feature_discharge_capacity_ah_range CHECK discharge_capacity_ah IS NULL OR (discharge_capacity_ah >= 0),
    CONSTRAINT ck_cycle_feature_charge_energy_wh_range CHECK charge_energy_wh IS NULL OR (charge_energy_wh >= 0),
    CONSTRAINT ck_cycle_feature_discharge_energy_wh_range CHECK discharge_energy_wh IS NULL OR (discharge_energy_wh >= 0),
    CONSTRAINT ck_cycle_feature_coulombic_efficiency_range CHECK coulombic_efficiency IS NULL OR (coulombic_efficiency > 0),
    CONSTRAINT ck_cycle_feature_energy_efficiency_range CHECK energy_efficiency IS NULL OR (energy_efficiency > 0),
    CONSTRAINT ck_cycle_feature_dc_internal_resistance_ohm_range CHECK dc_internal_resistance_ohm IS NULL OR (dc_internal_resistance_ohm > 0),
    CONSTRAINT ck_cycle_feature_dcir_pulse_current_ampere_range CHECK dcir_pulse_current_ampere IS NULL OR (dcir_pulse_current_ampere >= -5000 AND dcir_pulse_current_ampere <= 5000),
    CONSTRAINT ck_cycle_feature_dcir_pulse_duration_second_range CHECK dcir_pulse_duration_second IS NULL OR (dcir_pulse_duration_second > 0),
    CONSTRAINT ck_cycle_feature_dcir_soc_range CHECK dcir_soc IS NULL OR (dcir_soc >= 0 AND dcir_soc <= 1),
    CONSTRAINT ck_cycle_feature_dcir_method_enum CHECK dcir_method IS NULL OR (dcir_method IN ('pulse', 'step_change', 'cycler')),
    CONSTRAINT ck_cycle_feature_dcir_time_after_step_second_range CHECK dcir_time_after_step_second IS NULL OR (dcir_time_after_step_second > 0),
    CONSTRAINT ck_cycle_feature_dcir_step_count_range CHECK dcir_step_count IS NULL OR (dcir_step_count >= 1),
    CONSTRAINT ck_cycle_feature_step_resistance_first_sample_ohm_range CHECK step_resistance_first_sample_ohm IS NULL OR (step_resistance_first_sample_ohm > 0),
    CONSTRAINT ck_cycle_feature_step_resistance_first_sample_second_range CHECK step_resistance_first_sample_second IS NULL OR (step_resistance_first_sample_second > 0),
    CONSTRAINT ck_cycle_feature_step_resistance_1s_ohm_range CHECK step_resistance_1s_ohm IS NULL OR (step_resistance_1s_ohm > 0),
    CONSTRAINT ck_cycle_feature_step_resistance_10s_ohm_range CHECK step_resistance_10s_ohm IS NULL OR (step_resistance_10s_ohm > 0),
    CONSTRAINT ck_cycle_feature_step_resistance_count_range CHECK step_resistance_count IS NULL OR (step_resistance_count >= 1),
    CONSTRAINT ck_cycle_feature_cycler_resistance_ohm_range CHECK cycler_resistance_ohm IS NULL OR (cycler_resistance_ohm > 0),
    CONSTRAINT ck_cycle_feature_cv_time_second_range CHECK cv_time_second IS NULL OR (cv_time_second >= 0),
    CONSTRAINT ck_cycle_feature_cv_capacity_ah_range CHECK cv_capacity_ah IS NULL OR (cv_capacity_ah >= 0),
    CONSTRAINT ck_cycle_feature_charge_throughput_ah_range CHECK charge_throughput_ah IS NULL OR (charge_throughput_ah >= 0),
    CONSTRAINT ck_cycle_feature_relaxation_time_1_second_range CHECK relaxation_time_1_second IS NULL OR (relaxation_time_1_second > 0),
    CONSTRAINT ck_cycle_feature_relaxation_time_2_second_range CHECK relaxation_time_2_second IS NULL OR (relaxation_time_2_second > 0),
    CONSTRAINT ck_cycle_feature_rest_after_charge_duration_second_range CHECK rest_after_charge_duration_second IS NULL OR (rest_after_charge_duration_second >= 0),
    CONSTRAINT ck_cycle_feature_rest_after_discharge_duration_second_range CHECK rest_after_discharge_duration_second IS NULL OR (rest_after_discharge_duration_second >= 0),
    CONSTRAINT ck_cycle_feature_voltage_order CHECK ifNull(voltage_min_volt <= voltage_mean_volt AND voltage_mean_volt <= voltage_max_volt, 1),
    CONSTRAINT ck_cycle_feature_temperature_order CHECK ifNull(temperature_min_celsius <= temperature_mean_celsius AND temperature_mean_celsius <= temperature_max_celsius, 1),
    CONSTRAINT ck_cycle_feature_relaxation_times CHECK ifNull(relaxation_time_1_second < relaxation_time_2_second, 1),
    CONSTRAINT ck_cycle_feature_null_reasons_json CHECK ifNull(isValidJSON(null_reasons), 1)
)
ENGINE = MergeTree
ORDER BY (session_id, cycle_index, feature_version)
COMMENT 'Features of one cycle computed by one version of the feature extractor; the inputs of SOH models. Several extractor versions may describe the same cycle.';

-- curve_definition: How one version of the per-cycle curves and their features is computed: the fixed grids, where the capacity comes from, the smoothing of dQ/dV and dV/dQ, and the cycles delta-Q(V) compares. Everything needed to compute the same numbers again.
-- Keys ClickHouse does not enforce:
--   unique: primary key (curve_version)
CREATE TABLE curve_definition (
    curve_version String COMMENT 'Name of the definition, e.g. curves-v1; cycle_curve and cycle_curve_feature rows carry it.',
    chemistry LowCardinality(Nullable(String)) COMMENT 'The chemistry whose voltage window the grid covers; NULL when the grid is not chemistry-specific. [enum: chemistry]',
    voltage_grid_min_volt Float64 COMMENT 'Lowest voltage of the voltage grid. [unit: V; range: >= 0]',
    voltage_grid_max_volt Float64 COMMENT 'Highest voltage of the voltage grid. [unit: V; range: > 0]',
    voltage_grid_points Int32 COMMENT 'Number of equally spaced voltages of the grid, both ends included. [range: >= 2]',
    capacity_grid_points Int32 COMMENT 'Number of equally spaced normalised capacities (0 to 1, both included) V(q) is given at. [range: >= 2]',
    capacity_source String COMMENT 'Where the capacity comes from: the cycler''s counters where present, else the integral of current with dt >= 0 (the text states the rule, e.g. "counters, else trapezoidal integral of current, dt >= 0").',
    method String COMMENT 'How a half-cycle becomes a curve: which samples are kept (CV phase and rests cut), how voltage is made monotonic, the interpolation (e.g. linear), no extrapolation.',
    smoothing String COMMENT 'The smoothing of dQ/dV and dV/dQ as a name, e.g. savitzky_golay; parameters in smoothing_window_points and smoothing_polyorder.',
    smoothing_window_points Nullable(Int32) COMMENT 'Window of the Savitzky-Golay filter in grid points (odd); NULL for a smoothing without one. [range: >= 3]',
    smoothing_polyorder Nullable(Int16) COMMENT 'Polynomial order of the Savitzky-Golay filter; below the window. [range: >= 0]',
    min_points Int32 COMMENT 'A half-cycle with fewer samples than this gets no curve (NULL, reason recorded). [range: >= 2]',
    delta_q_reference_cycle_index Nullable(Int32) COMMENT 'The reference cycle of delta-Q(V) (Severson et al. 2019 use 10); NULL when not computed. [range: >= 0]',
    delta_q_cycle_index Nullable(Int32) COMMENT 'The cycle compared with the reference (Severson et al. 2019 use 100); NULL when not computed. [range: >= 0]',
    parameters String DEFAULT '{}' COMMENT 'Every parameter of the definition as a JSON object, the ones above included, with the code version.',
    created_at DateTime64(3, 'UTC') COMMENT 'When the definition was first written (UTC).',
    CONSTRAINT ck_curve_definition_chemistry_enum CHECK chemistry IS NULL OR (chemistry IN ('NMC', 'NCA', 'LFP', 'LCO', 'LMO', 'LTO', 'NA_ION', 'OTHER')),
    CONSTRAINT ck_curve_definition_voltage_grid_min_volt_range CHECK voltage_grid_min_volt >= 0,
    CONSTRAINT ck_curve_definition_voltage_grid_max_volt_range CHECK voltage_grid_max_volt > 0,
    CONSTRAINT ck_curve_definition_voltage_grid_points_range CHECK voltage_grid_points >= 2,
    CONSTRAINT ck_curve_definition_capacity_grid_points_range CHECK capacity_grid_points >= 2,
    CONSTRAINT ck_curve_definition_smoothing_window_points_range CHECK smoothing_window_points IS NULL OR (smoothing_window_points >= 3),
    CONSTRAINT ck_curve_definition_smoothing_polyorder_range CHECK smoothing_polyorder IS NULL OR (smoothing_polyorder >= 0),
    CONSTRAINT ck_curve_definition_min_points_range CHECK min_points >= 2,
    CONSTRAINT ck_curve_definition_delta_q_reference_cycle_index_range CHECK delta_q_reference_cycle_index IS NULL OR (delta_q_reference_cycle_index >= 0),
    CONSTRAINT ck_curve_definition_delta_q_cycle_index_range CHECK delta_q_cycle_index IS NULL OR (delta_q_cycle_index >= 0),
    CONSTRAINT ck_curve_definition_voltage_grid CHECK voltage_grid_min_volt < voltage_grid_max_volt,
    CONSTRAINT ck_curve_definition_smoothing CHECK ifNull(smoothing_polyorder < smoothing_window_points, 1),
    CONSTRAINT ck_curve_definition_delta_q_cycles CHECK ifNull((delta_q_reference_cycle_index IS NULL) = (delta_q_cycle_index IS NULL) AND delta_q_reference_cycle_index <> delta_q_cycle_index, 1),
    CONSTRAINT ck_curve_definition_parameters_json CHECK isValidJSON(parameters)
)
ENGINE = MergeTree
ORDER BY curve_version
COMMENT 'How one version of the per-cycle curves and their features is computed: the fixed grids, where the capacity comes from, the smoothing of dQ/dV and dV/dQ, and the cycles delta-Q(V) compares. Everything needed to compute the same numbers again.';

-- cycle_curve: Per-cycle curves on a fixed grid, one row per grid point (long format): charge and discharge capacity and energy as functions of voltage, and voltage as a function of normalised capacity, with the smoothed dQ/dV and dV/dQ. Long rather than arrays: every engine stores and checks the same typed columns, a curve is read by its primary key range, and ClickHouse compresses the columns (measured in docs/real-data.md).
-- Keys ClickHouse does not enforce:
--   unique: primary key (session_id, cycle_index, curve_version, direction, grid, point_index)
--   fk_cycle_curve_curve_version: (curve_version) -> curve_definition (curve_version) ON DELETE RESTRICT
--   fk_cycle_curve_cycle: (session_id, cycle_index) -> cycle (session_id, cycle_index) ON DELETE CASCADE
CREATE TABLE cycle_curve (
    session_id Int32 COMMENT 'The session of the cycle.',
    cycle_index Int32 COMMENT 'The cycle the curve describes.',
    curve_version String COMMENT 'The definition the curve was computed under.',
    direction LowCardinality(String) COMMENT 'Charge or discharge half of the cycle. [enum: curve_direction]',
    grid LowCardinality(String) COMMENT 'Whether the row is a point of the voltage grid or of the normalised-capacity grid. [enum: curve_grid]',
    point_index Int32 COMMENT 'Position on the definition''s grid, 0 at its lowest value; only points inside the half-cycle''s range are written (no extrapolation). [range: >= 0]',
    voltage_volt Float64 COMMENT 'The grid voltage (voltage grid), or the interpolated voltage (normalised-capacity grid). [unit: V]',
    capacity_ah Float64 COMMENT 'Charge moved in this half-cycle until the voltage was reached (voltage grid), or the normalised capacity times the half-cycle''s total (normalised-capacity grid). [unit: Ah; range: >= 0]',
    energy_wh Nullable(Float64) COMMENT 'Energy moved in this half-cycle until the voltage was reached (voltage grid); NULL on the other grid. [unit: Wh; range: >= 0]',
    normalised_capacity Float64 COMMENT 'capacity_ah / the half-cycle''s total capacity; the grid value on the normalised-capacity grid. [unit: fraction; range: [0, 1]]',
    dq_dv_ah_per_volt Nullable(Float64) COMMENT 'Smoothed incremental capacity |dQ/dV| at this voltage (voltage grid; positive in both directions); NULL on the other grid and where the smoothing window does not fit. [unit: Ah/V]',
    dv_dq_volt_per_ah Nullable(Float64) COMMENT 'Smoothed differential voltage |dV/dQ| at this capacity (normalised-capacity grid); NULL on the other grid and where the smoothing window does not fit. [unit: V/Ah]',
    INDEX ix_cycle_curve_version curve_version TYPE minmax GRANULARITY 1,
    CONSTRAINT ck_cycle_curve_direction_enum CHECK direction IN ('charge', 'discharge'),
    CONSTRAINT ck_cycle_curve_grid_enum CHECK grid IN ('voltage', 'normalised_capacity'),
    CONSTRAINT ck_cycle_curve_point_index_range CHECK point_index >= 0,
    CONSTRAINT ck_cycle_curve_capacity_ah_range CHECK capacity_ah >= 0,
    CONSTRAINT ck_cycle_curve_energy_wh_range CHECK energy_wh IS NULL OR (energy_wh >= 0),
    CONSTRAINT ck_cycle_curve_normalised_capacity_range CHECK normalised_capacity >= 0 AND normalised_capacity <= 1,
    CONSTRAINT ck_cycle_curve_grid_columns CHECK ifNull((grid = 'voltage' AND dv_dq_volt_per_ah IS NULL) OR (grid = 'normalised_capacity' AND dq_dv_ah_per_volt IS NULL AND energy_wh IS NULL), 1)
)
ENGINE = MergeTree
ORDER BY (session_id, cycle_index, curve_version, direction, grid, point_index)
COMMENT 'Per-cycle curves on a fixed grid, one row per grid point (long format): charge and discharge capacity and energy as functions of voltage, and voltage as a function of normalised capacity, with the smoothed dQ/dV and dV/dQ. Long rather than arrays: every engine stores and checks the same typed columns, a curve is read by its primary key range, and ClickHouse compresses the columns (measured in docs/real-data.md).';

-- cycle_curve_feature: Features of one cycle computed from its curves under one curve definition: the main peaks of dQ/dV and dV/dQ, and delta-Q(V) against a reference cycle of the same session (Severson et al., Nature Energy 2019). A feature that cannot be computed is NULL with its reason in null_reasons, never zero.
-- Keys ClickHouse does not enforce:
--   unique: primary key (session_id, cycle_index, curve_version)
--   fk_cycle_curve_feature_curve_version: (curve_version) -> curve_definition (curve_version) ON DELETE RESTRICT
--   fk_cycle_curve_feature_cycle: (session_id, cycle_index) -> cycle (session_id, cycle_index) ON DELETE CASCADE
CREATE TABLE cycle_curve_feature (
    session_id Int32 COMMENT 'The session of the cycle.',
    cycle_index Int32 COMMENT 'The cycle these features describe (the compared cycle of delta-Q(V)).',
    curve_version String COMMENT 'The definition the features were computed under.',
    dqdv_charge_peak1_voltage_volt Nullable(Float32) COMMENT 'Voltage of the highest peak of the charge dQ/dV. [unit: V]',
    dqdv_charge_peak1_height_ah_per_volt Nullable(Float32) COMMENT 'Height of that peak. [unit: Ah/V; range: >= 0]',
    dqdv_charge_peak2_voltage_volt Nullable(Float32) COMMENT 'Voltage of the second highest peak of the charge dQ/dV; NULL when there is one peak only. [unit: V]',
    dqdv_charge_peak2_height_ah_per_volt Nullable(Float32) COMMENT 'Height of that peak. [unit: Ah/V; range: >= 0]',
    dqdv_discharge_peak1_voltage_volt Nullable(Float32) COMMENT 'Voltage of the highest peak of the discharge |dQ/dV|. [unit: V]',
    dqdv_discharge_peak1_height_ah_per_volt Nullable(Float32) COMMENT 'Height of that peak. [unit: Ah/V; range: >= 0]',
    dqdv_discharge_peak2_voltage_volt Nullable(Float32) COMMENT 'Voltage of the second highest peak of the discharge |dQ/dV|; NULL when there is one peak only. [unit: V]',
    dqdv_discharge_peak2_height_ah_per_volt Nullable(Float32) COMMENT 'Height of that peak. [unit: Ah/V; range: >= 0]',
    dvdq_charge_peak1_capacity_ah Nullable(Float32) COMMENT 'Capacity (charged so far) of the highest interior peak of the charge dV/dQ. [unit: Ah; range: >= 0]',
    dvdq_charge_peak1_height_volt_per_ah Nullable(Float32) COMMENT 'Height of that peak. [unit: V/Ah; range: >= 0]',
    dvdq_discharge_peak1_capacity_ah Nullable(Float32) COMMENT 'Capacity (discharged so far) of the highest interior peak of the discharge |dV/dQ|. [unit: Ah; range: >= 0]',
    dvdq_discharge_peak1_height_volt_per_ah Nullable(Float32) COMMENT 'Height of that peak. [unit: V/Ah; range: >= 0]',
    delta_q_reference_cycle_index Nullable(Int32) COMMENT 'The reference cycle delta-Q(V) = Q_this(V) - Q_reference(V) of the discharge curves was computed against; NULL when this cycle is not compared. [range: >= 0]',
    delta_q_min_ah Nullable(Float32) COMMENT 'Minimum of delta-Q(V) over the common voltage grid. [unit: Ah]',
    delta_q_mean_ah Nullable(Float32) COMMENT 'Mean of delta-Q(V) over the common voltage grid. [unit: Ah]',
    delta_q_variance_ah2 Nullable(Float64) COMMENT 'Variance of delta-Q(V) (population, 1/n) over the common voltage grid. [unit: Ah2; range: >= 0]',
    delta_q_log10_abs_variance Nullable(Float32) COMMENT 'log10 of |delta_q_variance_ah2| in Ah^2, the single feature of Severson et al.; NULL when the variance is 0. [unit: log10]',
    delta_q_skewness Nullable(Float32) COMMENT 'Skewness of delta-Q(V) (Fisher-Pearson, biased, as scipy.stats.skew). [unit: fraction]',
    delta_q_kurtosis Nullable(Float32) COMMENT 'Excess kurtosis of delta-Q(V) (Fisher, biased, as scipy.stats.kurtosis). [unit: fraction]',
    delta_q_at_min_voltage_ah Nullable(Float32) COMMENT 'delta-Q(V) at the lowest voltage of the common grid. [unit: Ah]',
    delta_q_grid_points Nullable(Int32) COMMENT 'Number of voltage grid points both discharge curves cover (the statistics'' n). [range: >= 2]',
    null_reasons Nullable(String) COMMENT 'Why features of this row are NULL, as a JSON object column name -> reason, e.g. {"delta_q_variance_ah2": "no discharge curve of reference cycle 10"}; NULL when every feature was computed.',
    INDEX ix_cycle_curve_feature_version curve_version TYPE minmax GRANULARITY 1,
    CONSTRAINT ck_cycle_curve_feature_dqdv_charge_peak1_height_ah_per_d65232f6 CHECK dqdv_charge_peak1_height_ah_per_volt IS NULL OR (dqdv_charge_peak1_height_ah_per_volt >= 0),
    CONSTRAINT ck_cycle_curve_feature_dqdv_charge_peak2_height_ah_per_87599dcd CHECK dqdv_charge_peak2_height_ah_per_volt IS NULL OR (dqdv_charge_peak2_height_ah_per_volt >= 0),
    CONSTRAINT ck_cycle_curve_feature_dqdv_discharge_peak1_height_ah__6c4bdebb CHECK dqdv_discharge_peak1_height_ah_per_volt IS NULL OR (dqdv_discharge_peak1_height_ah_per_volt >= 0),
    CONSTRAINT ck_cycle_curve_feature_dqdv_discharge_peak2_height_ah__051ee8b8 CHECK dqdv_discharge_peak2_height_ah_per_volt IS NULL OR (dqdv_discharge_peak2_height_ah_per_volt >= 0),
    CONSTRAINT ck_cycle_curve_feature_dvdq_charge_peak1_capacity_ah_range CHECK dvdq_charge_peak1_capacity_ah IS NULL OR (dvdq_charge_peak1_capacity_ah >= 0),
    CONSTRAINT ck_cycle_curve_feature_dvdq_charge_peak1_height_volt_p_bd82e546 CHECK dvdq_charge_peak1_height_volt_per_ah IS NULL OR (dvdq_charge_peak1_height_volt_per_ah >= 0),
    CONSTRAINT ck_cycle_curve_feature_dvdq_discharge_peak1_capacity_ah_range CHECK dvdq_discharge_peak1_capacity_ah IS NULL OR (dvdq_discharge_peak1_capacity_ah >= 0),
    CONSTRAINT ck_cycle_curve_feature_dvdq_discharge_peak1_height_vol_2802e3f9 CHECK dvdq_discharge_peak1_height_volt_per_ah IS NULL OR (dvdq_discharge_peak1_height_volt_per_ah >= 0),
    CONSTRAINT ck_cycle_curve_feature_delta_q_reference_cycle_index_range CHECK delta_q_reference_cycle_index IS NULL OR (delta_q_reference_cycle_index >= 0),
    CONSTRAINT ck_cycle_curve_feature_delta_q_variance_ah2_range CHECK delta_q_variance_ah2 IS NULL OR (delta_q_variance_ah2 >= 0),
    CONSTRAINT ck_cycle_curve_feature_delta_q_grid_points_range CHECK delta_q_grid_points IS NULL OR (delta_q_grid_points >= 2),
    CONSTRAINT ck_cycle_curve_feature_delta_q_reference CHECK ifNull(delta_q_reference_cycle_index IS NOT NULL OR (delta_q_min_ah IS NULL AND delta_q_mean_ah IS NULL AND delta_q_variance_ah2 IS NULL), 1),
    CONSTRAINT ck_cycle_curve_feature_delta_q_other_cycle CHECK ifNull(delta_q_reference_cycle_index <> cycle_index, 1),
    CONSTRAINT ck_cycle_curve_feature_null_reasons_json CHECK ifNull(isValidJSON(null_reasons), 1)
)
ENGINE = MergeTree
ORDER BY (session_id, cycle_index, curve_version)
COMMENT 'Features of one cycle computed from its curves under one curve definition: the main peaks of dQ/dV and dV/dQ, and delta-Q(V) against a reference cycle of the same session (Severson et al., Nature Energy 2019). A feature that cannot be computed is NULL with its reason in null_reasons, never zero.';

-- label_soc: A ground-truth SOC value for one sample under one definition. Several definitions may label the same sample; they are kept apart by method and version, never overwritten.
-- Keys ClickHouse does not enforce:
--   unique: primary key (label_soc_id)
--   unique: uq_label_soc_definition (session_id, record_index, method, label_version)
--   fk_label_soc_point: (session_id, record_index) -> timeseries_point (session_id, record_index) ON DELETE CASCADE
CREATE TABLE label_soc (
    label_soc_id Int64 DEFAULT toInt64(generateSnowflakeID()) COMMENT 'Surrogate key of the label.' CODEC(Delta, ZSTD(1)),
    session_id Int32 COMMENT 'The session of the labelled sample.' CODEC(Delta, ZSTD(1)),
    record_index Int32 COMMENT 'The labelled sample.' CODEC(Delta, ZSTD(1)),
    recorded_at DateTime64(3, 'UTC') COMMENT 'Time of the labelled sample, copied from it; lets time windows be cut on labels and is part of the key of a sample on TimescaleDB.' CODEC(Delta, ZSTD(3)),
    method LowCardinality(String) COMMENT 'How the SOC was computed. [enum: soc_method]',
    label_version String COMMENT 'Version of the labelling code or parameters.',
    soc Float32 COMMENT 'State of charge, 0 = empty, 1 = full. The column allows [-0.25, 1.25]: coulomb counting drifts past the ends over a long test (current-sensor offset, capacity fade the reference capacity does not follow), and such a label is data to keep and judge, not to refuse. An OCV lookup stays within [-0.05, 1.05] (ck_label_soc_ocv_range): OCV tables extend only slightly past both ends. [unit: fraction; range: [-0.25, 1.25]]' CODEC(Delta, ZSTD(3)),
    reference_capacity_ah Nullable(Float32) COMMENT 'Capacity the charge was divided by (coulomb counting). [unit: Ah; range: > 0]' CODEC(Delta, ZSTD(3)),
    initial_soc Nullable(Float32) COMMENT 'SOC the integration started from (coulomb counting); from a rested voltage, so OCV-strict. [unit: fraction; range: [-0.05, 1.05]]' CODEC(Delta, ZSTD(3)),
    ocv_table Nullable(String) COMMENT 'Name and version of the OCV-SOC table used (OCV lookup).',
    INDEX ix_label_soc_session_time (session_id, recorded_at) TYPE minmax GRANULARITY 1,
    CONSTRAINT ck_label_soc_method_enum CHECK method IN ('coulomb_counting', 'ocv_lookup', 'model_based', 'simulator', 'bms'),
    CONSTRAINT ck_label_soc_soc_range CHECK soc >= -0.25 AND soc <= 1.25,
    CONSTRAINT ck_label_soc_reference_capacity_ah_range CHECK reference_capacity_ah IS NULL OR (reference_capacity_ah > 0),
    CONSTRAINT ck_label_soc_initial_soc_range CHECK initial_soc IS NULL OR (initial_soc >= CAST(-0.05 AS Float32) AND initial_soc <= CAST(1.05 AS Float32)),
    CONSTRAINT ck_label_soc_coulomb_inputs CHECK ifNull(method <> 'coulomb_counting' OR (reference_capacity_ah IS NOT NULL AND initial_soc IS NOT NULL), 1),
    CONSTRAINT ck_label_soc_ocv_table CHECK ifNull(method <> 'ocv_lookup' OR ocv_table IS NOT NULL, 1),
    CONSTRAINT ck_label_soc_ocv_range CHECK method <> 'ocv_lookup' OR (soc >= -0.05 AND soc <= 1.05)
)
ENGINE = MergeTree
ORDER BY (session_id, record_index, method, label_version, label_soc_id)
COMMENT 'A ground-truth SOC value for one sample under one definition. Several definitions may label the same sample; they are kept apart by method and version, never overwritten.';

-- label_soh: A ground-truth SOH value for one cycle under one definition, with the reference it was computed against.
-- Keys ClickHouse does not enforce:
--   unique: primary key (label_soh_id)
--   unique: uq_label_soh_definition (session_id, cycle_index, definition, reference_basis, label_version)
--   fk_label_soh_cycle: (session_id, cycle_index) -> cycle (session_id, cycle_index) ON DELETE CASCADE
CREATE TABLE label_soh (
    label_soh_id Int64 DEFAULT toInt64(generateSnowflakeID()) COMMENT 'Surrogate key of the label.',
    session_id Int32 COMMENT 'The session of the labelled cycle.',
    cycle_index Int32 COMMENT 'The labelled cycle.',
    definition LowCardinality(String) COMMENT 'Capacity-, resistance- or energy-based SOH. [enum: soh_definition]',
    reference_basis LowCardinality(String) COMMENT 'Whether the reference is the nominal value or the first measured one. [enum: soh_reference]',
    label_version String COMMENT 'Version of the labelling code or parameters.',
    soh Float32 COMMENT 'Measured / reference. End of life is conventionally 0.8 (capacity-based); resistance-based SOH grows from about 1. [unit: fraction; range: (0, 3]]',
    reference_capacity_ah Nullable(Float32) COMMENT 'Reference capacity (capacity-based SOH). [unit: Ah; range: > 0]',
    reference_resistance_ohm Nullable(Float32) COMMENT 'Reference resistance R_0 (resistance-based SOH). [unit: ohm; range: > 0]',
    reference_energy_wh Nullable(Float32) COMMENT 'Reference energy (energy-based SOH). [unit: Wh; range: > 0]',
    eol_threshold_soh Nullable(Float32) COMMENT 'The SOH threshold end of life is defined by (conventionally 0.8, capacity-based; a resistance-based threshold is above 1); NULL when the label has no RUL/EOL. [unit: fraction; range: (0, 3]]',
    eol_cycle_index Nullable(Int32) COMMENT 'End of life: the first cycle of the session whose SOH under this definition crosses eol_threshold_soh; NULL when the cell never reaches it (rul_censored) or no threshold. [range: >= 0]',
    rul_cycles Nullable(Int32) COMMENT 'Remaining useful life at this cycle in cycles, eol_cycle_index - cycle_index (negative after end of life); when censored, the cycles still observed after this one, a lower bound of the true RUL.',
    rul_censored Nullable(Bool) COMMENT 'True when the session ends before SOH reaches the threshold (right-censored: no end of life is invented, rul_cycles is a lower bound); NULL when no threshold.',
    CONSTRAINT ck_label_soh_definition_enum CHECK definition IN ('capacity', 'resistance', 'energy'),
    CONSTRAINT ck_label_soh_reference_basis_enum CHECK reference_basis IN ('nominal', 'first_measured'),
    CONSTRAINT ck_label_soh_soh_range CHECK soh > 0 AND soh <= 3,
    CONSTRAINT ck_label_soh_reference_capacity_ah_range CHECK reference_capacity_ah IS NULL OR (reference_capacity_ah > 0),
    CONSTRAINT ck_label_soh_reference_resistance_ohm_range CHECK reference_resistance_ohm IS NULL OR (reference_resistance_ohm > 0),
    CONSTRAINT ck_label_soh_reference_energy_wh_range CHECK reference_energy_wh IS NULL OR (reference_energy_wh > 0),
    CONSTRAINT ck_label_soh_eol_threshold_soh_range CHECK eol_threshold_soh IS NULL OR (eol_threshold_soh > 0 AND eol_threshold_soh <= 3),
    CONSTRAINT ck_label_soh_eol_cycle_index_range CHECK eol_cycle_index IS NULL OR (eol_cycle_index >= 0),
    CONSTRAINT ck_label_soh_reference CHECK ifNull((definition = 'capacity' AND reference_capacity_ah IS NOT NULL) OR (definition = 'resistance' AND reference_resistance_ohm IS NOT NULL) OR (definition = 'energy' AND reference_energy_wh IS NOT NULL), 1),
    CONSTRAINT ck_label_soh_rul CHECK ifNull((eol_threshold_soh IS NULL AND eol_cycle_index IS NULL AND rul_cycles IS NULL AND rul_censored IS NULL) OR (eol_threshold_soh IS NOT NULL AND rul_cycles IS NOT NULL AND rul_censored IS NOT NULL), 1),
    CONSTRAINT ck_label_soh_eol CHECK ifNull(eol_cycle_index IS NULL OR rul_cycles = eol_cycle_index - cycle_index, 1)
)
ENGINE = MergeTree
ORDER BY (session_id, cycle_index, definition, reference_basis, label_version, label_soh_id)
COMMENT 'A ground-truth SOH value for one cycle under one definition, with the reference it was computed against.';

-- model_run: One training run of a SOC or SOH model: what was trained on which data, against which label definition, how the data was split, and how well it did.
-- Keys ClickHouse does not enforce:
--   unique: primary key (run_id)
--   unique: uq_model_run_task (run_id, task)
CREATE TABLE model_run (
    run_id Int32 COMMENT 'Surrogate key of the run.',
    task LowCardinality(String) COMMENT 'Whether the model estimates SOC or SOH. [enum: task]',
    model_name String COMMENT 'Name of the model architecture, e.g. lstm or gpr.',
    model_version String COMMENT 'Version of the model code.',
    dataset_version String COMMENT 'Version of the data set the run trained on.',
    target_soc_method LowCardinality(Nullable(String)) COMMENT 'The SOC label definition trained against (SOC runs). [enum: soc_method]',
    target_soh_definition LowCardinality(Nullable(String)) COMMENT 'The SOH label definition trained against (SOH runs). [enum: soh_definition]',
    target_label_version Nullable(String) COMMENT 'label_version of the labels trained against (label_soc or label_soh); with the method or definition it names one label definition. NULL only for version 1 runs.',
    feature_version Nullable(String) COMMENT 'cycle_feature.feature_version of the features a SOH run trained on; NULL for SOC runs.',
    split_spec String COMMENT 'How the data was split, by cell and never by point: e.g. {"by": "cell", "train": [1, 2], "validation": [3], "test": [4]}.',
    hyperparameters String DEFAULT '{}' COMMENT 'Hyper-parameters of the run as a JSON object.',
    training_started_at DateTime64(3, 'UTC') COMMENT 'When training started (UTC).',
    training_finished_at Nullable(DateTime64(3, 'UTC')) COMMENT 'When training finished (UTC); NULL while it runs.',
    rmse Nullable(Float32) COMMENT 'Root-mean-square error on the test split, in label units. [unit: fraction; range: >= 0]',
    mae Nullable(Float32) COMMENT 'Mean absolute error on the test split, in label units. [unit: fraction; range: >= 0]',
    max_error Nullable(Float32) COMMENT 'Largest absolute error on the test split, in label units. [unit: fraction; range: >= 0]',
    code_revision String COMMENT 'Revision (e.g. git commit) of the training code.',
    random_seed Nullable(Int64) COMMENT 'Seed of the random number generators.',
    CONSTRAINT ck_model_run_task_enum CHECK task IN ('soc', 'soh'),
    CONSTRAINT ck_model_run_target_soc_method_enum CHECK target_soc_method IS NULL OR (target_soc_method IN ('coulomb_counting', 'ocv_lookup', 'model_based', 'simulator', 'bms')),
    CONSTRAINT ck_model_run_target_soh_definition_enum CHECK target_soh_definition IS NULL OR (target_soh_definition IN ('capacity', 'resistance', 'energy')),
    CONSTRAINT ck_model_run_rmse_range CHECK rmse IS NULL OR (rmse >= 0),
    CONSTRAINT ck_model_run_mae_range CHECK mae IS NULL OR (mae >= 0),
    CONSTRAINT ck_model_run_max_error_range CHECK max_error IS NULL OR (max_error >= 0),
    CONSTRAINT ck_model_run_target CHECK ifNull((task = 'soc' AND target_soc_method IS NOT NULL AND target_soh_definition IS NULL) OR (task = 'soh' AND target_soh_definition IS NOT NULL AND target_soc_method IS NULL), 1),
    CONSTRAINT ck_model_run_training_order CHECK ifNull(training_finished_at IS NULL OR training_finished_at >= training_started_at, 1),
    CONSTRAINT ck_model_run_split_spec_json CHECK isValidJSON(split_spec),
    CONSTRAINT ck_model_run_hyperparameters_json CHECK isValidJSON(hyperparameters)
)
ENGINE = MergeTree
ORDER BY run_id
COMMENT 'One training run of a SOC or SOH model: what was trained on which data, against which label definition, how the data was split, and how well it did.';

-- prediction: One value predicted by a model run: SOC for a sample or SOH for a cycle, with the true value it was compared with and the split it belongs to.
-- Keys ClickHouse does not enforce:
--   unique: primary key (prediction_id)
--   fk_prediction_run: (run_id, task) -> model_run (run_id, task) ON DELETE CASCADE
--   fk_prediction_point: (session_id, record_index) -> timeseries_point (session_id, record_index) ON DELETE CASCADE
--   fk_prediction_cycle: (session_id, cycle_index) -> cycle (session_id, cycle_index) ON DELETE CASCADE
--   fk_prediction_label_soc: (label_soc_id) -> label_soc (label_soc_id) ON DELETE SET NULL
--   fk_prediction_label_soh: (label_soh_id) -> label_soh (label_soh_id) ON DELETE SET NULL
CREATE TABLE prediction (
    prediction_id Int64 DEFAULT toInt64(generateSnowflakeID()) COMMENT 'Surrogate key of the prediction.' CODEC(Delta, ZSTD(1)),
    run_id Int32 COMMENT 'The run that made the prediction.' CODEC(Delta, ZSTD(1)),
    task LowCardinality(String) COMMENT 'Copy of the run''s task; the foreign key on (run_id, task) keeps them equal. [enum: task]',
    session_id Int32 COMMENT 'The session of the predicted sample or cycle.' CODEC(Delta, ZSTD(1)),
    record_index Nullable(Int32) COMMENT 'The predicted sample (SOC); NULL for SOH.' CODEC(Delta, ZSTD(1)),
    recorded_at Nullable(DateTime64(3, 'UTC')) COMMENT 'Time of the predicted sample (SOC), copied from it; NULL for SOH.' CODEC(Delta, ZSTD(3)),
    cycle_index Nullable(Int32) COMMENT 'The predicted cycle (SOH); NULL for SOC.' CODEC(Delta, ZSTD(1)),
    split LowCardinality(String) COMMENT 'Which split the predicted sample or cycle belongs to. [enum: split]',
    predicted_value Float32 COMMENT 'The predicted SOC or SOH. [unit: fraction]' CODEC(Delta, ZSTD(3)),
    true_value Nullable(Float32) COMMENT 'The label value it was compared with, copied; NULL when none exists. [unit: fraction]' CODEC(Delta, ZSTD(3)),
    uncertainty Nullable(Float32) COMMENT 'Standard deviation of the prediction, in label units; NULL when the model gives none. [unit: fraction; range: >= 0]' CODEC(Delta, ZSTD(3)),
    label_soc_id Nullable(Int64) COMMENT 'The SOC label row the prediction was compared with (SOC); NULL when none.' CODEC(Delta, ZSTD(1)),
    label_soh_id Nullable(Int64) COMMENT 'The SOH label row the prediction was compared with (SOH); NULL when none.' CODEC(Delta, ZSTD(1)),
    INDEX ix_prediction_point (session_id, record_index) TYPE minmax GRANULARITY 1,
    INDEX ix_prediction_cycle (session_id, cycle_index) TYPE minmax GRANULARITY 1,
    INDEX ix_prediction_label_soc label_soc_id TYPE minmax GRANULARITY 1,
    INDEX ix_prediction_label_soh label_soh_id TYPE minmax GRANULARITY 1,
    CONSTRAINT ck_prediction_task_enum CHECK task IN ('soc', 'soh'),
    CONSTRAINT ck_prediction_split_enum CHECK split IN ('train', 'validation', 'test'),
    CONSTRAINT ck_prediction_uncertainty_range CHECK uncertainty IS NULL OR (uncertainty >= 0),
    CONSTRAINT ck_prediction_target CHECK ifNull((task = 'soc' AND record_index IS NOT NULL AND recorded_at IS NOT NULL AND cycle_index IS NULL) OR (task = 'soh' AND cycle_index IS NOT NULL AND record_index IS NULL AND recorded_at IS NULL), 1),
    CONSTRAINT ck_prediction_label_task CHECK ifNull((label_soc_id IS NULL OR task = 'soc') AND (label_soh_id IS NULL OR task = 'soh'), 1)
)
ENGINE = MergeTree
ORDER BY (run_id, task, prediction_id)
COMMENT 'One value predicted by a model run: SOC for a sample or SOH for a cycle, with the true value it was compared with and the split it belongs to.';

-- eis_spectrum: One electrochemical impedance spectrum measured during a session, at a stated SOC and temperature (an extension beyond the design document's ten tables). Impedance grows with ageing (SOH) and depends on SOC, so both models may use it; its points are in eis_point.
-- Keys ClickHouse does not enforce:
--   unique: primary key (spectrum_id)
--   fk_eis_spectrum_session_id: (session_id) -> test_session (session_id) ON DELETE RESTRICT
--   fk_eis_spectrum_cycle: (session_id, cycle_index) -> cycle (session_id, cycle_index) ON DELETE RESTRICT
CREATE TABLE eis_spectrum (
    spectrum_id Int64 DEFAULT toInt64(generateSnowflakeID()) COMMENT 'Surrogate key of the spectrum.',
    session_id Int32 COMMENT 'The session the spectrum was measured in.',
    cycle_index Nullable(Int32) COMMENT 'The cycle it was measured after or in; NULL when outside any cycle.',
    measured_at Nullable(DateTime64(3, 'UTC')) COMMENT 'When the sweep started (UTC); NULL when the file has no absolute time.',
    soc Nullable(Float32) COMMENT 'SOC at which the spectrum was measured; NULL when not stated. [unit: fraction; range: [0, 1]]',
    temperature_celsius Nullable(Float32) COMMENT 'Temperature at which it was measured; NULL when not stated. [unit: degC; range: [-60, 200]]',
    mode Nullable(String) COMMENT 'Galvanostatic or potentiostatic excitation and its amplitude, as the instrument states it.',
    INDEX ix_eis_spectrum_cycle (session_id, cycle_index) TYPE minmax GRANULARITY 1,
    CONSTRAINT ck_eis_spectrum_soc_range CHECK soc IS NULL OR (soc >= 0 AND soc <= 1),
    CONSTRAINT ck_eis_spectrum_temperature_celsius_range CHECK temperature_celsius IS NULL OR (temperature_celsius >= -60 AND temperature_celsius <= 200)
)
ENGINE = MergeTree
ORDER BY spectrum_id
COMMENT 'One electrochemical impedance spectrum measured during a session, at a stated SOC and temperature (an extension beyond the design document''s ten tables). Impedance grows with ageing (SOH) and depends on SOC, so both models may use it; its points are in eis_point.';

-- eis_point: One frequency of an impedance spectrum (BDF column names).
-- Keys ClickHouse does not enforce:
--   unique: primary key (spectrum_id, point_index)
--   fk_eis_point_spectrum_id: (spectrum_id) -> eis_spectrum (spectrum_id) ON DELETE CASCADE
CREATE TABLE eis_point (
    spectrum_id Int64 COMMENT 'The spectrum.',
    point_index Int32 COMMENT 'Order of the point within the sweep. [range: >= 0]',
    frequency_hertz Float64 COMMENT 'Excitation frequency (BDF frequency_hertz). [unit: Hz; range: > 0]',
    real_impedance_ohm Float64 COMMENT 'Real part of the impedance (BDF real_impedance_ohm); may be negative at high frequency (inductance of the leads is imaginary, but fitting residues are not). [unit: ohm]',
    imaginary_impedance_ohm Float64 COMMENT 'Imaginary part, sign as reported (BDF imaginary_impedance_ohm; negative when capacitive). [unit: ohm]',
    CONSTRAINT ck_eis_point_point_index_range CHECK point_index >= 0,
    CONSTRAINT ck_eis_point_frequency_hertz_range CHECK frequency_hertz > 0
)
ENGINE = MergeTree
ORDER BY (spectrum_id, point_index)
COMMENT 'One frequency of an impedance spectrum (BDF column names).';

-- source_file: A cycler file a session was imported from; a session may come from several (one per channel export, restarts after a power cut). Enough to find, verify and re-import it.
-- Keys ClickHouse does not enforce:
--   unique: primary key (source_file_id)
--   unique: uq_source_file_content (session_id, content_sha256)
--   fk_source_file_session_id: (session_id) -> test_session (session_id) ON DELETE CASCADE
CREATE TABLE source_file (
    source_file_id Int32 COMMENT 'Surrogate key of the file.',
    session_id Int32 COMMENT 'The session imported from this file.',
    uri String COMMENT 'Path or URI of the file as it was imported.',
    content_sha256 String COMMENT 'SHA-256 of the file''s decompressed bytes, lower-case hex; proves which file was read (the same data gzipped or not has one hash).',
    file_format String COMMENT 'Format as the importer names it, e.g. arbin_res, maccor_txt, neware_ndax, bdf_csv.',
    cycler_software Nullable(String) COMMENT 'Software and version that wrote the file, e.g. "MITS Pro 8.0"; NULL when unknown.',
    original_units Nullable(String) COMMENT 'Units of the file''s columns before conversion to BDF units, e.g. {"current": "mA", "capacity": "mAh"}; NULL when it was already in BDF units.',
    assumed_time_zone Nullable(String) COMMENT 'IANA time zone assumed when the file''s local times were converted to UTC (Arbin, Maccor and NASA files write local time), e.g. Europe/Berlin; NULL when the file holds UTC.',
    record_index_first Nullable(Int32) COMMENT 'First record_index imported from this file; NULL when it holds no samples. [range: >= 0]',
    record_index_last Nullable(Int32) COMMENT 'Last record_index imported from this file. [range: >= 0]',
    native_record_first Nullable(Int64) COMMENT 'The cycler''s own record (data point) number of the file''s first imported sample, e.g. Arbin Data_Point 1 (record_index_first holds the session''s 0-based index); NULL when the file has none.',
    compressed_sha256 Nullable(String) COMMENT 'SHA-256 of the compressed bytes, lower-case hex, when the file was read compressed (.gz); content_sha256 is always of the decompressed bytes. NULL for an uncompressed file.',
    imported_at DateTime64(3, 'UTC') COMMENT 'When the file was imported (UTC).',
    CONSTRAINT ck_source_file_record_index_first_range CHECK record_index_first IS NULL OR (record_index_first >= 0),
    CONSTRAINT ck_source_file_record_index_last_range CHECK record_index_last IS NULL OR (record_index_last >= 0),
    CONSTRAINT ck_source_file_record_order CHECK ifNull(record_index_last >= record_index_first, 1),
    CONSTRAINT ck_source_file_original_units_json CHECK ifNull(isValidJSON(original_units), 1)
)
ENGINE = MergeTree
ORDER BY (session_id, content_sha256, source_file_id)
COMMENT 'A cycler file a session was imported from; a session may come from several (one per channel export, restarts after a power cut). Enough to find, verify and re-import it.';

-- Schema version 5, recorded where the migration runner (dbmate) keeps applied migrations.
CREATE TABLE IF NOT EXISTS schema_migrations (version String, ts DateTime DEFAULT now(), applied UInt8 DEFAULT 1) ENGINE = ReplacingMergeTree(ts) PRIMARY KEY version ORDER BY version;
INSERT INTO schema_migrations (version) VALUES ('000100'), ('000200'), ('000300'), ('000400'), ('000500');
