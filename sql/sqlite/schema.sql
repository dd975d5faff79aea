-- Battery SOC/SOH schema: SQLite DDL.
-- Schema version 5. Generated from schema.yaml by liam-erd-schema; do not edit.
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
--   - cell_channel_point.recorded_at and label_soc.recorded_at and prediction.recorded_at copy the
--     recorded_at of the timeseries_point row they reference; here the foreign key checks
--     (session_id, record_index) only.

PRAGMA foreign_keys = ON;

-- battery_pack: A battery pack: cells connected in series and parallel, tested as one asset.
CREATE TABLE battery_pack (
    pack_id INTEGER NOT NULL,  -- Surrogate key of the pack. [rowid alias, assigned automatically]
    manufacturer TEXT,  -- Who built the pack; NULL when the data set does not say (many public ones).
    model_name TEXT,  -- The manufacturer's model designation; NULL when unknown.
    serial_number TEXT,  -- Serial number, unique per manufacturer; NULL when unknown.
    chemistry TEXT NOT NULL,  -- Chemistry of the cells in the pack.
    cathode_chemistry TEXT,  -- Positive electrode material of its cells; NULL when unknown.
    anode_chemistry TEXT,  -- Negative electrode material of its cells; NULL when unknown.
    series_count INTEGER NOT NULL,  -- Number of cells (or parallel groups) in series.
    parallel_count INTEGER NOT NULL,  -- Number of cells in parallel in each series group.
    nominal_capacity_ah REAL NOT NULL,  -- Rated capacity of the pack. [Ah]
    nominal_voltage_volt REAL NOT NULL,  -- Rated voltage of the pack. [V]
    voltage_min_volt REAL NOT NULL,  -- Lower voltage limit of the pack. [V]
    voltage_max_volt REAL NOT NULL,  -- Upper voltage limit of the pack. [V]
    notes TEXT,  -- Free text, e.g. the chemistry when it is OTHER.
    CONSTRAINT pk_battery_pack PRIMARY KEY (pack_id),
    CONSTRAINT uq_battery_pack_serial UNIQUE (manufacturer, serial_number),
    CONSTRAINT ck_battery_pack_chemistry_enum CHECK (chemistry IN ('NMC', 'NCA', 'LFP', 'LCO', 'LMO', 'LTO', 'NA_ION', 'OTHER')),  -- chemistry is one of the chemistry values.
    CONSTRAINT ck_battery_pack_cathode_chemistry_enum CHECK (cathode_chemistry IN ('NMC', 'NCA', 'LFP', 'LMFP', 'LCO', 'LMO', 'NA_LAYERED_OXIDE', 'NA_PRUSSIAN_BLUE', 'OTHER')),  -- cathode_chemistry is one of the cathode_chemistry values.
    CONSTRAINT ck_battery_pack_anode_chemistry_enum CHECK (anode_chemistry IN ('graphite', 'silicon_graphite', 'LTO', 'hard_carbon', 'lithium_metal', 'OTHER')),  -- anode_chemistry is one of the anode_chemistry values.
    CONSTRAINT ck_battery_pack_series_count_range CHECK (series_count >= 1),  -- series_count >= 1.
    CONSTRAINT ck_battery_pack_parallel_count_range CHECK (parallel_count >= 1),  -- parallel_count >= 1.
    CONSTRAINT ck_battery_pack_nominal_capacity_ah_range CHECK (nominal_capacity_ah > 0),  -- nominal_capacity_ah > 0.
    CONSTRAINT ck_battery_pack_nominal_voltage_volt_range CHECK (nominal_voltage_volt > 0),  -- nominal_voltage_volt > 0.
    CONSTRAINT ck_battery_pack_voltage_min_volt_range CHECK (voltage_min_volt >= 0),  -- voltage_min_volt >= 0.
    CONSTRAINT ck_battery_pack_voltage_max_volt_range CHECK (voltage_max_volt > 0),  -- voltage_max_volt > 0.
    CONSTRAINT ck_battery_pack_voltage_limits CHECK (voltage_min_volt < voltage_max_volt)  -- The lower voltage limit is below the upper one.
) STRICT;

-- battery_cell: A single cell, loose or mounted in a pack at a series/parallel position.
CREATE TABLE battery_cell (
    cell_id INTEGER NOT NULL,  -- Surrogate key of the cell. [rowid alias, assigned automatically]
    pack_id INTEGER,  -- The pack this cell is mounted in; NULL for a loose cell.
    series_position INTEGER,  -- 1-based series position in the pack; NULL for a loose cell.
    parallel_position INTEGER,  -- 1-based parallel position within its series group; NULL for a loose cell.
    manufacturer TEXT,  -- Who built the cell; NULL when the data set does not say (many public ones).
    model_name TEXT,  -- The manufacturer's model designation, e.g. INR21700-50E; NULL when unknown.
    serial_number TEXT,  -- Serial number, unique per manufacturer; NULL when unknown.
    chemistry TEXT NOT NULL,  -- Chemistry family of the cell.
    cathode_chemistry TEXT,  -- Positive electrode material; NULL when unknown.
    anode_chemistry TEXT,  -- Negative electrode material; NULL when unknown.
    form_factor TEXT NOT NULL,  -- Mechanical format of the cell.
    nominal_capacity_ah REAL NOT NULL,  -- Rated capacity from the datasheet. [Ah]
    nominal_voltage_volt REAL NOT NULL,  -- Rated voltage from the datasheet. [V]
    voltage_min_volt REAL NOT NULL,  -- Discharge cut-off voltage from the datasheet. [V]
    voltage_max_volt REAL NOT NULL,  -- Charge cut-off voltage from the datasheet. [V]
    notes TEXT,  -- Free text.
    CONSTRAINT pk_battery_cell PRIMARY KEY (cell_id),
    CONSTRAINT uq_battery_cell_serial UNIQUE (manufacturer, serial_number),
    CONSTRAINT uq_battery_cell_position UNIQUE (pack_id, series_position, parallel_position),
    CONSTRAINT fk_battery_cell_pack_id FOREIGN KEY (pack_id) REFERENCES battery_pack (pack_id) ON DELETE RESTRICT,  -- ON DELETE RESTRICT: A pack with cells cannot be deleted: detach or delete its cells first, so no cell silently loses the pack it was measured in.
    CONSTRAINT ck_battery_cell_series_position_range CHECK (series_position >= 1),  -- series_position >= 1.
    CONSTRAINT ck_battery_cell_parallel_position_range CHECK (parallel_position >= 1),  -- parallel_position >= 1.
    CONSTRAINT ck_battery_cell_chemistry_enum CHECK (chemistry IN ('NMC', 'NCA', 'LFP', 'LCO', 'LMO', 'LTO', 'NA_ION', 'OTHER')),  -- chemistry is one of the chemistry values.
    CONSTRAINT ck_battery_cell_cathode_chemistry_enum CHECK (cathode_chemistry IN ('NMC', 'NCA', 'LFP', 'LMFP', 'LCO', 'LMO', 'NA_LAYERED_OXIDE', 'NA_PRUSSIAN_BLUE', 'OTHER')),  -- cathode_chemistry is one of the cathode_chemistry values.
    CONSTRAINT ck_battery_cell_anode_chemistry_enum CHECK (anode_chemistry IN ('graphite', 'silicon_graphite', 'LTO', 'hard_carbon', 'lithium_metal', 'OTHER')),  -- anode_chemistry is one of the anode_chemistry values.
    CONSTRAINT ck_battery_cell_form_factor_enum CHECK (form_factor IN ('cylindrical', 'pouch', 'prismatic', 'coin')),  -- form_factor is one of the form_factor values.
    CONSTRAINT ck_battery_cell_nominal_capacity_ah_range CHECK (nominal_capacity_ah > 0),  -- nominal_capacity_ah > 0.
    CONSTRAINT ck_battery_cell_nominal_voltage_volt_range CHECK (nominal_voltage_volt > 0),  -- nominal_voltage_volt > 0.
    CONSTRAINT ck_battery_cell_voltage_min_volt_range CHECK (voltage_min_volt >= 0),  -- voltage_min_volt >= 0.
    CONSTRAINT ck_battery_cell_voltage_max_volt_range CHECK (voltage_max_volt > 0),  -- voltage_max_volt > 0.
    CONSTRAINT ck_battery_cell_voltage_limits CHECK (voltage_min_volt < voltage_max_volt),  -- The discharge cut-off is below the charge cut-off.
    CONSTRAINT ck_battery_cell_position_with_pack CHECK ((pack_id IS NULL AND series_position IS NULL AND parallel_position IS NULL) OR (pack_id IS NOT NULL AND series_position IS NOT NULL AND parallel_position IS NOT NULL))  -- A mounted cell has both positions; a loose cell has neither.
) STRICT;

-- test_session: One run of one test protocol on exactly one asset (a pack or a cell), usually one file exported by a cycler.
CREATE TABLE test_session (
    session_id INTEGER NOT NULL,  -- Surrogate key of the session. [rowid alias, assigned automatically]
    pack_id INTEGER,  -- The pack under test; NULL when the asset is a cell.
    cell_id INTEGER,  -- The cell under test; NULL when the asset is a pack.
    protocol_name TEXT NOT NULL,  -- Name of the test protocol, e.g. "RPT 0.5C" or "UDDS x10".
    protocol_version TEXT,  -- Version of the protocol definition; NULL when the data set does not say.
    protocol_type TEXT NOT NULL,  -- What the session is for.
    equipment TEXT,  -- Cycler or test equipment, maker and model; NULL when unknown (simulations).
    channel TEXT,  -- Channel of the cycler the asset was connected to.
    ambient_temperature_celsius REAL,  -- Set point of the climate chamber, or measured ambient temperature. [degC]
    charge_c_rate REAL,  -- Nominal charge rate of the protocol. [C]
    discharge_c_rate REAL,  -- Nominal discharge rate of the protocol. [C]
    started_at REAL NOT NULL,  -- When the session started (UTC); test_time_second counts from here. A simulation has no absolute time: it states a nominal start and says so in the notes. [Unix seconds, UTC]
    source_file TEXT,  -- Path or URI of the main cycler file (version 1); every file of the session, with its hash, format and assumed time zone, is in source_file.
    notes TEXT,  -- Free text.
    CONSTRAINT pk_test_session PRIMARY KEY (session_id),
    CONSTRAINT fk_test_session_pack_id FOREIGN KEY (pack_id) REFERENCES battery_pack (pack_id) ON DELETE RESTRICT,  -- ON DELETE RESTRICT: Sessions hold measurements; deleting their pack must not destroy them.
    CONSTRAINT fk_test_session_cell_id FOREIGN KEY (cell_id) REFERENCES battery_cell (cell_id) ON DELETE RESTRICT,  -- ON DELETE RESTRICT: Sessions hold measurements; deleting their cell must not destroy them.
    CONSTRAINT ck_test_session_protocol_type_enum CHECK (protocol_type IN ('cycle_aging', 'rpt', 'hppc', 'ocv', 'drive_cycle', 'eis', 'calendar_aging')),  -- protocol_type is one of the protocol_type values.
    CONSTRAINT ck_test_session_ambient_temperature_celsius_range CHECK (ambient_temperature_celsius >= -60 AND ambient_temperature_celsius <= 150),  -- ambient_temperature_celsius lies in [-60, 150].
    CONSTRAINT ck_test_session_charge_c_rate_range CHECK (charge_c_rate > 0),  -- charge_c_rate > 0.
    CONSTRAINT ck_test_session_discharge_c_rate_range CHECK (discharge_c_rate > 0),  -- discharge_c_rate > 0.
    CONSTRAINT ck_test_session_one_asset CHECK ((pack_id IS NULL) <> (cell_id IS NULL))  -- A session runs on exactly one asset, a pack or a cell, never both or neither.
) STRICT;
CREATE INDEX ix_test_session_pack ON test_session (pack_id);
CREATE INDEX ix_test_session_cell ON test_session (cell_id);

-- cycle: One charge/discharge cycle of a session, segmented from its samples. Keyed by the cycler's own cycle counter; records the range of sample record indexes it spans, so the samples of a cycle are found through the time-series primary key without an extra index.
CREATE TABLE cycle (
    session_id INTEGER NOT NULL,  -- The session this cycle belongs to.
    cycle_index INTEGER NOT NULL,  -- The cycle: the value of the cycler's cycle counter (timeseries_point.cycle_count) its samples carry; never renumbered.
    record_index_first INTEGER NOT NULL,  -- record_index of the first sample of the cycle.
    record_index_last INTEGER NOT NULL,  -- record_index of the last sample of the cycle.
    test_time_start_second REAL NOT NULL,  -- test_time_second of the first sample. [s]
    test_time_end_second REAL NOT NULL,  -- test_time_second of the last sample. [s]
    cycle_type TEXT,  -- Formation, ageing or reference (RPT/diagnostic) cycle; NULL when the protocol does not say. Capacity-based SOH is normally computed on reference cycles only.
    cycle_type_source TEXT,  -- How cycle_type was found: from the protocol, or from the data (a C-rate or cycling pattern change inside the session); NULL when cycle_type is NULL.
    CONSTRAINT pk_cycle PRIMARY KEY (session_id, cycle_index),
    CONSTRAINT fk_cycle_session_id FOREIGN KEY (session_id) REFERENCES test_session (session_id) ON DELETE RESTRICT,  -- ON DELETE RESTRICT: Cycles are part of a session's measurements; delete them explicitly, never as a side effect.
    CONSTRAINT ck_cycle_cycle_index_range CHECK (cycle_index >= 0),  -- cycle_index >= 0.
    CONSTRAINT ck_cycle_record_index_first_range CHECK (record_index_first >= 0),  -- record_index_first >= 0.
    CONSTRAINT ck_cycle_record_index_last_range CHECK (record_index_last >= 0),  -- record_index_last >= 0.
    CONSTRAINT ck_cycle_test_time_start_second_range CHECK (test_time_start_second >= 0),  -- test_time_start_second >= 0.
    CONSTRAINT ck_cycle_test_time_end_second_range CHECK (test_time_end_second >= 0),  -- test_time_end_second >= 0.
    CONSTRAINT ck_cycle_cycle_type_enum CHECK (cycle_type IN ('formation', 'aging', 'reference', 'other')),  -- cycle_type is one of the cycle_type values.
    CONSTRAINT ck_cycle_cycle_type_source_enum CHECK (cycle_type_source IN ('protocol', 'data_c_rate', 'data_protocol', 'manual')),  -- cycle_type_source is one of the cycle_type_source values.
    CONSTRAINT ck_cycle_record_order CHECK (record_index_last >= record_index_first),  -- A cycle ends at or after its first sample.
    CONSTRAINT ck_cycle_type_source CHECK (cycle_type_source IS NULL OR cycle_type IS NOT NULL)  -- Only a stated cycle type has a source.
) STRICT, WITHOUT ROWID;

-- timeseries_point: One sample recorded by the cycler, named as the Battery Data Format (BDF) names it. Keyed by session and record index; columns are ordered widest first so PostgreSQL stores a row without alignment padding (a migration from version 1 appends new columns at the end). The optional channels cost nothing in PostgreSQL while NULL. Samples are never deleted by a cascade.
CREATE TABLE timeseries_point (
    recorded_at REAL NOT NULL,  -- Absolute time of the sample (UTC; BDF unix_time_second holds the same instant as seconds, so the name stays: this column is a timestamp, not seconds). Required: the TimescaleDB hypertable is partitioned on it; a simulation uses its nominal start. [Unix seconds, UTC]
    test_time_second REAL NOT NULL,  -- Seconds since the session started. Sampling is not uniform and may step back. [s]
    step_time_second REAL,  -- Seconds since the current step started (BDF step_time_second); NULL when not logged. [s]
    charging_capacity_ah REAL,  -- The cycler's cumulative charge into the asset since the test started (BDF charging_capacity_ah); double precision because re-integrating logged samples is less accurate than the cycler's own counter. NULL when the file has none. [Ah]
    discharging_capacity_ah REAL,  -- The cycler's cumulative charge out of the asset since the test started (BDF discharging_capacity_ah). [Ah]
    charging_energy_wh REAL,  -- The cycler's cumulative energy into the asset since the test started (BDF charging_energy_wh). [Wh]
    discharging_energy_wh REAL,  -- The cycler's cumulative energy out of the asset since the test started (BDF discharging_energy_wh). [Wh]
    session_id INTEGER NOT NULL,  -- The session the sample belongs to.
    record_index INTEGER NOT NULL,  -- The cycler's sample number within the session (BDF record_index).
    cycle_count INTEGER NOT NULL,  -- The cycler's cycle counter at this sample (BDF cycle_count; cycle_index in version 1); non-decreasing; cycle.cycle_index of the cycle the sample belongs to.
    step_count INTEGER,  -- Ever-increasing step counter of the session (BDF step_count); integer, because a long test passes 32,767 steps. NULL when the file has none.
    voltage_volt REAL NOT NULL,  -- Terminal voltage of the asset. [V]
    current_ampere REAL NOT NULL,  -- Current; positive charges the asset. [A]
    surface_temperature_celsius REAL,  -- Temperature at the surface of the asset (BDF surface_temperature_celsius; temperature_celsius in version 1); NULL when not measured. [degC]
    ambient_temperature_celsius REAL,  -- Measured ambient (chamber) temperature (BDF ambient_temperature_celsius); NULL when not measured. [degC]
    temperature_t1_celsius REAL,  -- Auxiliary temperature channel 1 (BDF T1); placement is in the session notes. [degC]
    temperature_t2_celsius REAL,  -- Auxiliary temperature channel 2 (BDF T2). [degC]
    temperature_t3_celsius REAL,  -- Auxiliary temperature channel 3 (BDF T3). [degC]
    internal_resistance_ohm REAL,  -- The cycler's own internal-resistance reading at this sample (BDF internal_resistance or dc_internal_resistance, Arbin Internal_Resistance, Maccor DCIR), as the file writes it: a cycler repeats its last reading until it measures again, and Arbin and Maccor write 0 where they measured nothing. NULL when the file has no such column. [ohm]
    step_id INTEGER,  -- The program step the cycler was executing (BDF step_id, Arbin Step_Index; step_index in version 1, renamed because BDF's step_index is a count within a step). An identifier from the program, not a counter: it repeats every cycle and stays far below 32,767 (step_count is the counter). NULL when the file has none.
    step_type TEXT,  -- What the step was doing (BDF step_type); NULL when the cycler does not say.
    CONSTRAINT pk_timeseries_point PRIMARY KEY (session_id, record_index),
    CONSTRAINT fk_timeseries_point_session_id FOREIGN KEY (session_id) REFERENCES test_session (session_id) ON DELETE RESTRICT,  -- ON DELETE RESTRICT: Samples are raw measurements; deleting a session never deletes them silently.
    CONSTRAINT ck_timeseries_point_test_time_second_range CHECK (test_time_second >= 0),  -- test_time_second >= 0.
    CONSTRAINT ck_timeseries_point_step_time_second_range CHECK (step_time_second >= 0),  -- step_time_second >= 0.
    CONSTRAINT ck_timeseries_point_charging_capacity_ah_range CHECK (charging_capacity_ah >= 0),  -- charging_capacity_ah >= 0.
    CONSTRAINT ck_timeseries_point_discharging_capacity_ah_range CHECK (discharging_capacity_ah >= 0),  -- discharging_capacity_ah >= 0.
    CONSTRAINT ck_timeseries_point_charging_energy_wh_range CHECK (charging_energy_wh >= 0),  -- charging_energy_wh >= 0.
    CONSTRAINT ck_timeseries_point_discharging_energy_wh_range CHECK (discharging_energy_wh >= 0),  -- discharging_energy_wh >= 0.
    CONSTRAINT ck_timeseries_point_record_index_range CHECK (record_index >= 0),  -- record_index >= 0.
    CONSTRAINT ck_timeseries_point_cycle_count_range CHECK (cycle_count >= 0),  -- cycle_count >= 0.
    CONSTRAINT ck_timeseries_point_step_count_range CHECK (step_count >= 0),  -- step_count >= 0.
    CONSTRAINT ck_timeseries_point_voltage_volt_range CHECK (voltage_volt >= -5 AND voltage_volt <= 1500),  -- voltage_volt lies in [-5, 1500].
    CONSTRAINT ck_timeseries_point_current_ampere_range CHECK (current_ampere >= -5000 AND current_ampere <= 5000),  -- current_ampere lies in [-5000, 5000].
    CONSTRAINT ck_timeseries_point_surface_temperature_celsius_range CHECK (surface_temperature_celsius >= -60 AND surface_temperature_celsius <= 200),  -- surface_temperature_celsius lies in [-60, 200].
    CONSTRAINT ck_timeseries_point_ambient_temperature_celsius_range CHECK (ambient_temperature_celsius >= -60 AND ambient_temperature_celsius <= 200),  -- ambient_temperature_celsius lies in [-60, 200].
    CONSTRAINT ck_timeseries_point_temperature_t1_celsius_range CHECK (temperature_t1_celsius >= -60 AND temperature_t1_celsius <= 200),  -- temperature_t1_celsius lies in [-60, 200].
    CONSTRAINT ck_timeseries_point_temperature_t2_celsius_range CHECK (temperature_t2_celsius >= -60 AND temperature_t2_celsius <= 200),  -- temperature_t2_celsius lies in [-60, 200].
    CONSTRAINT ck_timeseries_point_temperature_t3_celsius_range CHECK (temperature_t3_celsius >= -60 AND temperature_t3_celsius <= 200),  -- temperature_t3_celsius lies in [-60, 200].
    CONSTRAINT ck_timeseries_point_internal_resistance_ohm_range CHECK (internal_resistance_ohm >= 0 AND internal_resistance_ohm <= 1000),  -- internal_resistance_ohm lies in [0, 1000].
    CONSTRAINT ck_timeseries_point_step_id_range CHECK (step_id >= 0),  -- step_id >= 0.
    CONSTRAINT ck_timeseries_point_step_type_enum CHECK (step_type IN ('cc_charge', 'cv_charge', 'cccv_charge', 'cc_discharge', 'cv_discharge', 'cp_discharge', 'dynamic', 'rest', 'ocv', 'pulse', 'eis', 'other'))  -- step_type is one of the step_type values.
) STRICT, WITHOUT ROWID;
CREATE INDEX ix_timeseries_point_session_time ON timeseries_point (session_id, recorded_at);

-- cell_channel_point: The channels of one cell recorded with one sample of a pack test (cell voltage, cell temperature): pack-to-cell analysis, e.g. the cell voltage spread per cycle. Joined to the pack's sample on (session_id, record_index); the cell is one of the pack's cells.
CREATE TABLE cell_channel_point (
    recorded_at REAL NOT NULL,  -- Time of the pack's sample, copied from it; part of the key of a sample on TimescaleDB and lets time windows be cut without the samples. [Unix seconds, UTC]
    session_id INTEGER NOT NULL,  -- The pack's session.
    record_index INTEGER NOT NULL,  -- The pack's sample these cell channels were recorded with.
    cell_id INTEGER NOT NULL,  -- The cell measured.
    voltage_volt REAL NOT NULL,  -- Cell voltage; a single cell never exceeds 10 V, a reversed cell may go negative. [V]
    temperature_celsius REAL,  -- Cell temperature; NULL when the cell has no sensor. [degC]
    CONSTRAINT pk_cell_channel_point PRIMARY KEY (session_id, record_index, cell_id),
    CONSTRAINT fk_cell_channel_point_cell_id FOREIGN KEY (cell_id) REFERENCES battery_cell (cell_id) ON DELETE RESTRICT,  -- ON DELETE RESTRICT: Cell measurements are raw data; deleting their cell must not destroy them.
    CONSTRAINT fk_cell_channel_point_point FOREIGN KEY (session_id, record_index) REFERENCES timeseries_point (session_id, record_index) ON DELETE CASCADE,  -- ON DELETE CASCADE: The cell channels are part of the pack's sample and mean nothing without it.
    CONSTRAINT ck_cell_channel_point_voltage_volt_range CHECK (voltage_volt >= -5 AND voltage_volt <= 10),  -- voltage_volt lies in [-5, 10].
    CONSTRAINT ck_cell_channel_point_temperature_celsius_range CHECK (temperature_celsius >= -60 AND temperature_celsius <= 200)  -- temperature_celsius lies in [-60, 200].
) STRICT, WITHOUT ROWID;
CREATE INDEX ix_cell_channel_point_cell ON cell_channel_point (cell_id);

-- cycle_feature: Features of one cycle computed by one version of the feature extractor; the inputs of SOH models. Several extractor versions may describe the same cycle.
CREATE TABLE cycle_feature (
    session_id INTEGER NOT NULL,  -- The session of the cycle.
    cycle_index INTEGER NOT NULL,  -- The cycle these features describe.
    feature_version TEXT NOT NULL,  -- Version of the feature-extraction code.
    charge_capacity_ah REAL,  -- Charge throughput while charging in this cycle. [Ah]
    discharge_capacity_ah REAL,  -- Charge delivered while discharging in this cycle. [Ah]
    charge_energy_wh REAL,  -- Energy taken in while charging. [Wh]
    discharge_energy_wh REAL,  -- Energy delivered while discharging. [Wh]
    coulombic_efficiency REAL,  -- Discharge capacity / charge capacity. No upper bound: a full cycle is about 1 (slightly above from measurement noise), but the partial first and last cycles of a file (a discharge from a charged state, a charge cut short) give any positive ratio. Strict only where physics is: it is positive. [fraction]
    energy_efficiency REAL,  -- Discharge energy / charge energy. No upper bound, for the same reason as coulombic_efficiency: partial first and last cycles give any positive ratio. [fraction]
    dc_internal_resistance_ohm REAL,  -- DC internal resistance from a current step in this cycle (BDF dc_internal_resistance_ohm). Only comparable between cycles measured with the same pulse current, duration and SOC (the three columns below). [ohm]
    dcir_pulse_current_ampere REAL,  -- Current of the pulse the resistance was measured with; positive charges. [A]
    dcir_pulse_duration_second REAL,  -- Duration of the pulse after which the voltage drop was read (e.g. 10 s). [s]
    dcir_soc REAL,  -- SOC at which the pulse was applied. [fraction]
    dcir_method TEXT,  -- How dc_internal_resistance_ohm was obtained: a dedicated pulse, ordinary step changes of current, or the cycler's own reading; NULL when there is no value.
    dcir_time_after_step_second REAL,  -- Time after the current change at which the voltage was read for dc_internal_resistance_ohm (for the first sample after the change: that sample's own interval); NULL when not known. [s]
    dcir_step_count INTEGER,  -- Number of current steps dc_internal_resistance_ohm aggregates (step_change); NULL otherwise.
    step_resistance_first_sample_ohm REAL,  -- Median over the cycle's step changes of current (rest to load, load to rest, between load levels) of |dV/dI| read at the first sample after the change (about the ohmic resistance); NULL when the cycle has no usable step. [ohm]
    step_resistance_first_sample_second REAL,  -- Median time after the change of the first samples step_resistance_first_sample_ohm used. [s]
    step_resistance_1s_ohm REAL,  -- As step_resistance_first_sample_ohm, with the voltage read 1 s after the change; NULL when the sampling or the step is too coarse or short. [ohm]
    step_resistance_10s_ohm REAL,  -- As step_resistance_first_sample_ohm, with the voltage read 10 s after the change (charge transfer and diffusion included). [ohm]
    step_resistance_count INTEGER,  -- Number of step changes the step_resistance_* medians are taken over.
    cycler_resistance_ohm REAL,  -- Mean of the cycler's own resistance readings in the cycle (Arbin Internal_Resistance, ACR); NULL when the file carries none. [ohm]
    voltage_max_volt REAL,  -- Highest voltage in the cycle. [V]
    voltage_min_volt REAL,  -- Lowest voltage in the cycle. [V]
    voltage_mean_volt REAL,  -- Time-weighted mean voltage. [V]
    charge_voltage_mean_volt REAL,  -- Time-weighted mean voltage while charging (current > 0); NULL when the cycle does not charge. [V]
    discharge_voltage_mean_volt REAL,  -- Time-weighted mean voltage while discharging (current < 0); NULL when the cycle does not discharge. [V]
    current_max_ampere REAL,  -- Highest (charging) current. [A]
    current_min_ampere REAL,  -- Lowest (most negative, discharging) current. [A]
    temperature_max_celsius REAL,  -- Highest temperature. [degC]
    temperature_mean_celsius REAL,  -- Time-weighted mean temperature. [degC]
    temperature_min_celsius REAL,  -- Lowest temperature. [degC]
    cv_time_second REAL,  -- Time spent in the constant-voltage phase of the charge. [s]
    cv_capacity_ah REAL,  -- Charge taken in during the constant-voltage phase. [Ah]
    charge_throughput_ah REAL,  -- Cumulative charge throughput of the asset up to the end of this cycle. [Ah]
    relaxation_time_1_second REAL,  -- The first stated time after the current stops at which the rest voltages *_t1_volt are read (e.g. 10 s); NULL when no relaxation was derived. [s]
    relaxation_time_2_second REAL,  -- The second stated time (e.g. 300 s) of the rest voltages *_t2_volt. [s]
    rest_after_charge_voltage_start_volt REAL,  -- Voltage of the first sample of the first rest after the cycle's charge (current zero); NULL when the charge is not followed by a rest. [V]
    rest_after_charge_voltage_t1_volt REAL,  -- Voltage relaxation_time_1_second into that rest; NULL when the rest is shorter. [V]
    rest_after_charge_voltage_t2_volt REAL,  -- Voltage relaxation_time_2_second into that rest; NULL when the rest is shorter. [V]
    rest_after_charge_voltage_end_volt REAL,  -- Voltage of the last sample of that rest. [V]
    rest_after_charge_duration_second REAL,  -- Length of that rest. [s]
    rest_after_discharge_voltage_start_volt REAL,  -- Voltage of the first sample of the first rest after the cycle's discharge; NULL when none. [V]
    rest_after_discharge_voltage_t1_volt REAL,  -- Voltage relaxation_time_1_second into that rest; NULL when the rest is shorter. [V]
    rest_after_discharge_voltage_t2_volt REAL,  -- Voltage relaxation_time_2_second into that rest; NULL when the rest is shorter. [V]
    rest_after_discharge_voltage_end_volt REAL,  -- Voltage of the last sample of that rest. [V]
    rest_after_discharge_duration_second REAL,  -- Length of that rest. [s]
    null_reasons TEXT,  -- Why features of this row are NULL, as a JSON object column name -> reason, e.g. {"rest_after_charge_voltage_t2_volt": "rest shorter than 300 s"}; NULL when no feature the version computes is missing for a reason worth stating.
    CONSTRAINT pk_cycle_feature PRIMARY KEY (session_id, cycle_index, feature_version),
    CONSTRAINT fk_cycle_feature_cycle FOREIGN KEY (session_id, cycle_index) REFERENCES cycle (session_id, cycle_index) ON DELETE CASCADE,  -- ON DELETE CASCADE: Features are derived from the cycle; re-segmenting a cycle discards them with it.
    CONSTRAINT ck_cycle_feature_charge_capacity_ah_range CHECK (charge_capacity_ah >= 0),  -- charge_capacity_ah >= 0.
    CONSTRAINT ck_cycle_feature_discharge_capacity_ah_range CHECK (discharge_capacity_ah >= 0),  -- discharge_capacity_ah >= 0.
    CONSTRAINT ck_cycle_feature_charge_energy_wh_range CHECK (charge_energy_wh >= 0),  -- charge_energy_wh >= 0.
    CONSTRAINT ck_cycle_feature_discharge_energy_wh_range CHECK (discharge_energy_wh >= 0),  -- discharge_energy_wh >= 0.
    CONSTRAINT ck_cycle_feature_coulombic_efficiency_range CHECK (coulombic_efficiency > 0),  -- coulombic_efficiency > 0.
    CONSTRAINT ck_cycle_feature_energy_efficiency_range CHECK (energy_efficiency > 0),  -- energy_efficiency > 0.
    CONSTRAINT ck_cycle_feature_dc_internal_resistance_ohm_range CHECK (dc_internal_resistance_ohm > 0),  -- dc_internal_resistance_ohm > 0.
    CONSTRAINT ck_cycle_feature_dcir_pulse_current_ampere_range CHECK (dcir_pulse_current_ampere >= -5000 AND dcir_pulse_current_ampere <= 5000),  -- dcir_pulse_current_ampere lies in [-5000, 5000].
    CONSTRAINT ck_cycle_feature_dcir_pulse_duration_second_range CHECK (dcir_pulse_duration_second > 0),  -- dcir_pulse_duration_second > 0.
    CONSTRAINT ck_cycle_feature_dcir_soc_range CHECK (dcir_soc >= 0 AND dcir_soc <= 1),  -- dcir_soc lies in [0, 1].
    CONSTRAINT ck_cycle_feature_dcir_method_enum CHECK (dcir_method IN ('pulse', 'step_change', 'cycler')),  -- dcir_method is one of the dcir_method values.
    CONSTRAINT ck_cycle_feature_dcir_time_after_step_second_range CHECK (dcir_time_after_step_second > 0),  -- dcir_time_after_step_second > 0.
    CONSTRAINT ck_cycle_feature_dcir_step_count_range CHECK (dcir_step_count >= 1),  -- dcir_step_count >= 1.
    CONSTRAINT ck_cycle_feature_step_resistance_first_sample_ohm_range CHECK (step_resistance_first_sample_ohm > 0),  -- step_resistance_first_sample_ohm > 0.
    CONSTRAINT ck_cycle_feature_step_resistance_first_sample_second_range CHECK (step_resistance_first_sample_second > 0),  -- step_resistance_first_sample_second > 0.
    CONSTRAINT ck_cycle_feature_step_resistance_1s_ohm_range CHECK (step_resistance_1s_ohm > 0),  -- step_resistance_1s_ohm > 0.
    CONSTRAINT ck_cycle_feature_step_resistance_10s_ohm_range CHECK (step_resistance_10s_ohm > 0),  -- step_resistance_10s_ohm > 0.
    CONSTRAINT ck_cycle_feature_step_resistance_count_range CHECK (step_resistance_count >= 1),  -- step_resistance_count >= 1.
    CONSTRAINT ck_cycle_feature_cycler_resistance_ohm_range CHECK (cycler_resistance_ohm > 0),  -- cycler_resistance_ohm > 0.
    CONSTRAINT ck_cycle_feature_cv_time_second_range CHECK (cv_time_second >= 0),  -- cv_time_second >= 0.
    CONSTRAINT ck_cycle_feature_cv_capacity_ah_range CHECK (cv_capacity_ah >= 0),  -- cv_capacity_ah >= 0.
    CONSTRAINT ck_cycle_feature_charge_throughput_ah_range CHECK (charge_throughput_ah >= 0),  -- charge_throughput_ah >= 0.
    CONSTRAINT ck_cycle_feature_relaxation_time_1_second_range CHECK (relaxation_time_1_second > 0),  -- relaxation_time_1_second > 0.
    CONSTRAINT ck_cycle_feature_relaxation_time_2_second_range CHECK (relaxation_time_2_second > 0),  -- relaxation_time_2_second > 0.
    CONSTRAINT ck_cycle_feature_rest_after_charge_duration_second_range CHECK (rest_after_charge_duration_second >= 0),  -- rest_after_charge_duration_second >= 0.
    CONSTRAINT ck_cycle_feature_rest_after_discharge_duration_second_range CHECK (rest_after_discharge_duration_second >= 0),  -- rest_after_discharge_duration_second >= 0.
    CONSTRAINT ck_cycle_feature_voltage_order CHECK (voltage_min_volt <= voltage_mean_volt AND voltage_mean_volt <= voltage_max_volt),  -- The mean voltage lies between the minimum and the maximum.
    CONSTRAINT ck_cycle_feature_temperature_order CHECK (temperature_min_celsius <= temperature_mean_celsius AND temperature_mean_celsius <= temperature_max_celsius),  -- The mean temperature lies between the minimum and the maximum.
    CONSTRAINT ck_cycle_feature_relaxation_times CHECK (relaxation_time_1_second < relaxation_time_2_second),  -- The two stated relaxation times are in order.
    CONSTRAINT ck_cycle_feature_null_reasons_json CHECK (null_reasons IS NULL OR json_valid(null_reasons))  -- null_reasons is valid JSON.
) STRICT, WITHOUT ROWID;

-- curve_definition: How one version of the per-cycle curves and their features is computed: the fixed grids, where the capacity comes from, the smoothing of dQ/dV and dV/dQ, and the cycles delta-Q(V) compares. Everything needed to compute the same numbers again.
CREATE TABLE curve_definition (
    curve_version TEXT NOT NULL,  -- Name of the definition, e.g. curves-v1; cycle_curve and cycle_curve_feature rows carry it.
    chemistry TEXT,  -- The chemistry whose voltage window the grid covers; NULL when the grid is not chemistry-specific.
    voltage_grid_min_volt REAL NOT NULL,  -- Lowest voltage of the voltage grid. [V]
    voltage_grid_max_volt REAL NOT NULL,  -- Highest voltage of the voltage grid. [V]
    voltage_grid_points INTEGER NOT NULL,  -- Number of equally spaced voltages of the grid, both ends included.
    capacity_grid_points INTEGER NOT NULL,  -- Number of equally spaced normalised capacities (0 to 1, both included) V(q) is given at.
    capacity_source TEXT NOT NULL,  -- Where the capacity comes from: the cycler's counters where present, else the integral of current with dt >= 0 (the text states the rule, e.g. "counters, else trapezoidal integral of current, dt >= 0").
    method TEXT NOT NULL,  -- How a half-cycle becomes a curve: which samples are kept (CV phase and rests cut), how voltage is made monotonic, the interpolation (e.g. linear), no extrapolation.
    smoothing TEXT NOT NULL,  -- The smoothing of dQ/dV and dV/dQ as a name, e.g. savitzky_golay; parameters in smoothing_window_points and smoothing_polyorder.
    smoothing_window_points INTEGER,  -- Window of the Savitzky-Golay filter in grid points (odd); NULL for a smoothing without one.
    smoothing_polyorder INTEGER,  -- Polynomial order of the Savitzky-Golay filter; below the window.
    min_points INTEGER NOT NULL,  -- A half-cycle with fewer samples than this gets no curve (NULL, reason recorded).
    delta_q_reference_cycle_index INTEGER,  -- The reference cycle of delta-Q(V) (Severson et al. 2019 use 10); NULL when not computed.
    delta_q_cycle_index INTEGER,  -- The cycle compared with the reference (Severson et al. 2019 use 100); NULL when not computed.
    parameters TEXT NOT NULL DEFAULT '{}',  -- Every parameter of the definition as a JSON object, the ones above included, with the code version.
    created_at REAL NOT NULL,  -- When the definition was first written (UTC). [Unix seconds, UTC]
    CONSTRAINT pk_curve_definition PRIMARY KEY (curve_version),
    CONSTRAINT ck_curve_definition_chemistry_enum CHECK (chemistry IN ('NMC', 'NCA', 'LFP', 'LCO', 'LMO', 'LTO', 'NA_ION', 'OTHER')),  -- chemistry is one of the chemistry values.
    CONSTRAINT ck_curve_definition_voltage_grid_min_volt_range CHECK (voltage_grid_min_volt >= 0),  -- voltage_grid_min_volt >= 0.
    CONSTRAINT ck_curve_definition_voltage_grid_max_volt_range CHECK (voltage_grid_max_volt > 0),  -- voltage_grid_max_volt > 0.
    CONSTRAINT ck_curve_definition_voltage_grid_points_range CHECK (voltage_grid_points >= 2),  -- voltage_grid_points >= 2.
    CONSTRAINT ck_curve_definition_capacity_grid_points_range CHECK (capacity_grid_points >= 2),  -- capacity_grid_points >= 2.
    CONSTRAINT ck_curve_definition_smoothing_window_points_range CHECK (smoothing_window_points >= 3),  -- smoothing_window_points >= 3.
    CONSTRAINT ck_curve_definition_smoothing_polyorder_range CHECK (smoothing_polyorder >= 0),  -- smoothing_polyorder >= 0.
    CONSTRAINT ck_curve_definition_min_points_range CHECK (min_points >= 2),  -- min_points >= 2.
    CONSTRAINT ck_curve_definition_delta_q_reference_cycle_index_range CHECK (delta_q_reference_cycle_index >= 0),  -- delta_q_reference_cycle_index >= 0.
    CONSTRAINT ck_curve_definition_delta_q_cycle_index_range CHECK (delta_q_cycle_index >= 0),  -- delta_q_cycle_index >= 0.
    CONSTRAINT ck_curve_definition_voltage_grid CHECK (voltage_grid_min_volt < voltage_grid_max_volt),  -- The voltage grid runs upwards.
    CONSTRAINT ck_curve_definition_smoothing CHECK (smoothing_polyorder < smoothing_window_points),  -- A Savitzky-Golay polynomial order is below its window.
    CONSTRAINT ck_curve_definition_delta_q_cycles CHECK ((delta_q_reference_cycle_index IS NULL) = (delta_q_cycle_index IS NULL) AND delta_q_reference_cycle_index <> delta_q_cycle_index),  -- delta-Q(V) names both cycles or neither, and they differ.
    CONSTRAINT ck_curve_definition_parameters_json CHECK (json_valid(parameters))  -- parameters is valid JSON.
) STRICT, WITHOUT ROWID;

-- cycle_curve: Per-cycle curves on a fixed grid, one row per grid point (long format): charge and discharge capacity and energy as functions of voltage, and voltage as a function of normalised capacity, with the smoothed dQ/dV and dV/dQ. Long rather than arrays: every engine stores and checks the same typed columns, a curve is read by its primary key range, and ClickHouse compresses the columns (measured in docs/real-data.md).
CREATE TABLE cycle_curve (
    session_id INTEGER NOT NULL,  -- The session of the cycle.
    cycle_index INTEGER NOT NULL,  -- The cycle the curve describes.
    curve_version TEXT NOT NULL,  -- The definition the curve was computed under.
    direction TEXT NOT NULL,  -- Charge or discharge half of the cycle.
    grid TEXT NOT NULL,  -- Whether the row is a point of the voltage grid or of the normalised-capacity grid.
    point_index INTEGER NOT NULL,  -- Position on the definition's grid, 0 at its lowest value; only points inside the half-cycle's range are written (no extrapolation).
    voltage_volt REAL NOT NULL,  -- The grid voltage (voltage grid), or the interpolated voltage (normalised-capacity grid). [V]
    capacity_ah REAL NOT NULL,  -- Charge moved in this half-cycle until the voltage was reached (voltage grid), or the normalised capacity times the half-cycle's total (normalised-capacity grid). [Ah]
    energy_wh REAL,  -- Energy moved in this half-cycle until the voltage was reached (voltage grid); NULL on the other grid. [Wh]
    normalised_capacity REAL NOT NULL,  -- capacity_ah / the half-cycle's total capacity; the grid value on the normalised-capacity grid. [fraction]
    dq_dv_ah_per_volt REAL,  -- Smoothed incremental capacity |dQ/dV| at this voltage (voltage grid; positive in both directions); NULL on the other grid and where the smoothing window does not fit. [Ah/V]
    dv_dq_volt_per_ah REAL,  -- Smoothed differential voltage |dV/dQ| at this capacity (normalised-capacity grid); NULL on the other grid and where the smoothing window does not fit. [V/Ah]
    CONSTRAINT pk_cycle_curve PRIMARY KEY (session_id, cycle_index, curve_version, direction, grid, point_index),
    CONSTRAINT fk_cycle_curve_curve_version FOREIGN KEY (curve_version) REFERENCES curve_definition (curve_version) ON DELETE RESTRICT,  -- ON DELETE RESTRICT: A curve means nothing without its grid and method; delete the curves first.
    CONSTRAINT fk_cycle_curve_cycle FOREIGN KEY (session_id, cycle_index) REFERENCES cycle (session_id, cycle_index) ON DELETE CASCADE,  -- ON DELETE CASCADE: A curve is derived from its cycle; re-segmenting the cycle discards it.
    CONSTRAINT ck_cycle_curve_direction_enum CHECK (direction IN ('charge', 'discharge')),  -- direction is one of the curve_direction values.
    CONSTRAINT ck_cycle_curve_grid_enum CHECK (grid IN ('voltage', 'normalised_capacity')),  -- grid is one of the curve_grid values.
    CONSTRAINT ck_cycle_curve_point_index_range CHECK (point_index >= 0),  -- point_index >= 0.
    CONSTRAINT ck_cycle_curve_capacity_ah_range CHECK (capacity_ah >= 0),  -- capacity_ah >= 0.
    CONSTRAINT ck_cycle_curve_energy_wh_range CHECK (energy_wh >= 0),  -- energy_wh >= 0.
    CONSTRAINT ck_cycle_curve_normalised_capacity_range CHECK (normalised_capacity >= 0 AND normalised_capacity <= 1),  -- normalised_capacity lies in [0, 1].
    CONSTRAINT ck_cycle_curve_grid_columns CHECK ((grid = 'voltage' AND dv_dq_volt_per_ah IS NULL) OR (grid = 'normalised_capacity' AND dq_dv_ah_per_volt IS NULL AND energy_wh IS NULL))  -- Each grid carries its own derivative only; energy is given on the voltage grid.
) STRICT, WITHOUT ROWID;
CREATE INDEX ix_cycle_curve_version ON cycle_curve (curve_version);

-- cycle_curve_feature: Features of one cycle computed from its curves under one curve definition: the main peaks of dQ/dV and dV/dQ, and delta-Q(V) against a reference cycle of the same session (Severson et al., Nature Energy 2019). A feature that cannot be computed is NULL with its reason in null_reasons, never zero.
CREATE TABLE cycle_curve_feature (
    session_id INTEGER NOT NULL,  -- The session of the cycle.
    cycle_index INTEGER NOT NULL,  -- The cycle these features describe (the compared cycle of delta-Q(V)).
    curve_version TEXT NOT NULL,  -- The definition the features were computed under.
    dqdv_charge_peak1_voltage_volt REAL,  -- Voltage of the highest peak of the charge dQ/dV. [V]
    dqdv_charge_peak1_height_ah_per_volt REAL,  -- Height of that peak. [Ah/V]
    dqdv_charge_peak2_voltage_volt REAL,  -- Voltage of the second highest peak of the charge dQ/dV; NULL when there is one peak only. [V]
    dqdv_charge_peak2_height_ah_per_volt REAL,  -- Height of that peak. [Ah/V]
    dqdv_discharge_peak1_voltage_volt REAL,  -- Voltage of the highest peak of the discharge |dQ/dV|. [V]
    dqdv_discharge_peak1_height_ah_per_volt REAL,  -- Height of that peak. [Ah/V]
    dqdv_discharge_peak2_voltage_volt REAL,  -- Voltage of the second highest peak of the discharge |dQ/dV|; NULL when there is one peak only. [V]
    dqdv_discharge_peak2_height_ah_per_volt REAL,  -- Height of that peak. [Ah/V]
    dvdq_charge_peak1_capacity_ah REAL,  -- Capacity (charged so far) of the highest interior peak of the charge dV/dQ. [Ah]
    dvdq_charge_peak1_height_volt_per_ah REAL,  -- Height of that peak. [V/Ah]
    dvdq_discharge_peak1_capacity_ah REAL,  -- Capacity (discharged so far) of the highest interior peak of the discharge |dV/dQ|. [Ah]
    dvdq_discharge_peak1_height_volt_per_ah REAL,  -- Height of that peak. [V/Ah]
    delta_q_reference_cycle_index INTEGER,  -- The reference cycle delta-Q(V) = Q_this(V) - Q_reference(V) of the discharge curves was computed against; NULL when this cycle is not compared.
    delta_q_min_ah REAL,  -- Minimum of delta-Q(V) over the common voltage grid. [Ah]
    delta_q_mean_ah REAL,  -- Mean of delta-Q(V) over the common voltage grid. [Ah]
    delta_q_variance_ah2 REAL,  -- Variance of delta-Q(V) (population, 1/n) over the common voltage grid. [Ah2]
    delta_q_log10_abs_variance REAL,  -- log10 of |delta_q_variance_ah2| in Ah^2, the single feature of Severson et al.; NULL when the variance is 0. [log10]
    delta_q_skewness REAL,  -- Skewness of delta-Q(V) (Fisher-Pearson, biased, as scipy.stats.skew). [fraction]
    delta_q_kurtosis REAL,  -- Excess kurtosis of delta-Q(V) (Fisher, biased, as scipy.stats.kurtosis). [fraction]
    delta_q_at_min_voltage_ah REAL,  -- delta-Q(V) at the lowest voltage of the common grid. [Ah]
    delta_q_grid_points INTEGER,  -- Number of voltage grid points both discharge curves cover (the statistics' n).
    null_reasons TEXT,  -- Why features of this row are NULL, as a JSON object column name -> reason, e.g. {"delta_q_variance_ah2": "no discharge curve of reference cycle 10"}; NULL when every feature was computed.
    CONSTRAINT pk_cycle_curve_feature PRIMARY KEY (session_id, cycle_index, curve_version),
    CONSTRAINT fk_cycle_curve_feature_curve_version FOREIGN KEY (curve_version) REFERENCES curve_definition (curve_version) ON DELETE RESTRICT,  -- ON DELETE RESTRICT: A feature means nothing without its definition; delete the features first.
    CONSTRAINT fk_cycle_curve_feature_cycle FOREIGN KEY (session_id, cycle_index) REFERENCES cycle (session_id, cycle_index) ON DELETE CASCADE,  -- ON DELETE CASCADE: Features are derived from the cycle; re-segmenting the cycle discards them.
    CONSTRAINT ck_cycle_curve_feature_dqdv_charge_peak1_height_ah_per_d65232f6 CHECK (dqdv_charge_peak1_height_ah_per_volt >= 0),  -- dqdv_charge_peak1_height_ah_per_volt >= 0.
    CONSTRAINT ck_cycle_curve_feature_dqdv_charge_peak2_height_ah_per_87599dcd CHECK (dqdv_charge_peak2_height_ah_per_volt >= 0),  -- dqdv_charge_peak2_height_ah_per_volt >= 0.
    CONSTRAINT ck_cycle_curve_feature_dqdv_discharge_peak1_height_ah__6c4bdebb CHECK (dqdv_discharge_peak1_height_ah_per_volt >= 0),  -- dqdv_discharge_peak1_height_ah_per_volt >= 0.
    CONSTRAINT ck_cycle_curve_feature_dqdv_discharge_peak2_height_ah__051ee8b8 CHECK (dqdv_discharge_peak2_height_ah_per_volt >= 0),  -- dqdv_discharge_peak2_height_ah_per_volt >= 0.
    CONSTRAINT ck_cycle_curve_feature_dvdq_charge_peak1_capacity_ah_range CHECK (dvdq_charge_peak1_capacity_ah >= 0),  -- dvdq_charge_peak1_capacity_ah >= 0.
    CONSTRAINT ck_cycle_curve_feature_dvdq_charge_peak1_height_volt_p_bd82e546 CHECK (dvdq_charge_peak1_height_volt_per_ah >= 0),  -- dvdq_charge_peak1_height_volt_per_ah >= 0.
    CONSTRAINT ck_cycle_curve_feature_dvdq_discharge_peak1_capacity_ah_range CHECK (dvdq_discharge_peak1_capacity_ah >= 0),  -- dvdq_discharge_peak1_capacity_ah >= 0.
    CONSTRAINT ck_cycle_curve_feature_dvdq_discharge_peak1_height_vol_2802e3f9 CHECK (dvdq_discharge_peak1_height_volt_per_ah >= 0),  -- dvdq_discharge_peak1_height_volt_per_ah >= 0.
    CONSTRAINT ck_cycle_curve_feature_delta_q_reference_cycle_index_range CHECK (delta_q_reference_cycle_index >= 0),  -- delta_q_reference_cycle_index >= 0.
    CONSTRAINT ck_cycle_curve_feature_delta_q_variance_ah2_range CHECK (delta_q_variance_ah2 >= 0),  -- delta_q_variance_ah2 >= 0.
    CONSTRAINT ck_cycle_curve_feature_delta_q_grid_points_range CHECK (delta_q_grid_points >= 2),  -- delta_q_grid_points >= 2.
    CONSTRAINT ck_cycle_curve_feature_delta_q_reference CHECK (delta_q_reference_cycle_index IS NOT NULL OR (delta_q_min_ah IS NULL AND delta_q_mean_ah IS NULL AND delta_q_variance_ah2 IS NULL)),  -- A delta-Q(V) feature names the reference cycle it was computed against.
    CONSTRAINT ck_cycle_curve_feature_delta_q_other_cycle CHECK (delta_q_reference_cycle_index <> cycle_index),  -- A cycle is not compared with itself.
    CONSTRAINT ck_cycle_curve_feature_null_reasons_json CHECK (null_reasons IS NULL OR json_valid(null_reasons))  -- null_reasons is valid JSON.
) STRICT, WITHOUT ROWID;
CREATE INDEX ix_cycle_curve_feature_version ON cycle_curve_feature (curve_version);

-- label_soc: A ground-truth SOC value for one sample under one definition. Several definitions may label the same sample; they are kept apart by method and version, never overwritten.
CREATE TABLE label_soc (
    label_soc_id INTEGER NOT NULL,  -- Surrogate key of the label. [rowid alias, assigned automatically]
    session_id INTEGER NOT NULL,  -- The session of the labelled sample.
    record_index INTEGER NOT NULL,  -- The labelled sample.
    recorded_at REAL NOT NULL,  -- Time of the labelled sample, copied from it; lets time windows be cut on labels and is part of the key of a sample on TimescaleDB. [Unix seconds, UTC]
    method TEXT NOT NULL,  -- How the SOC was computed.
    label_version TEXT NOT NULL,  -- Version of the labelling code or parameters.
    soc REAL NOT NULL,  -- State of charge, 0 = empty, 1 = full. The column allows [-0.25, 1.25]: coulomb counting drifts past the ends over a long test (current-sensor offset, capacity fade the reference capacity does not follow), and such a label is data to keep and judge, not to refuse. An OCV lookup stays within [-0.05, 1.05] (ck_label_soc_ocv_range): OCV tables extend only slightly past both ends. [fraction]
    reference_capacity_ah REAL,  -- Capacity the charge was divided by (coulomb counting). [Ah]
    initial_soc REAL,  -- SOC the integration started from (coulomb counting); from a rested voltage, so OCV-strict. [fraction]
    ocv_table TEXT,  -- Name and version of the OCV-SOC table used (OCV lookup).
    CONSTRAINT pk_label_soc PRIMARY KEY (label_soc_id),
    CONSTRAINT uq_label_soc_definition UNIQUE (session_id, record_index, method, label_version),
    CONSTRAINT fk_label_soc_point FOREIGN KEY (session_id, record_index) REFERENCES timeseries_point (session_id, record_index) ON DELETE CASCADE,  -- ON DELETE CASCADE: A label is derived from its sample and means nothing without it.
    CONSTRAINT ck_label_soc_method_enum CHECK (method IN ('coulomb_counting', 'ocv_lookup', 'model_based', 'simulator', 'bms')),  -- method is one of the soc_method values.
    CONSTRAINT ck_label_soc_soc_range CHECK (soc >= -0.25 AND soc <= 1.25),  -- soc lies in [-0.25, 1.25].
    CONSTRAINT ck_label_soc_reference_capacity_ah_range CHECK (reference_capacity_ah > 0),  -- reference_capacity_ah > 0.
    CONSTRAINT ck_label_soc_initial_soc_range CHECK (initial_soc >= CAST(-0.05 AS REAL) AND initial_soc <= CAST(1.05 AS REAL)),  -- initial_soc lies in [-0.05, 1.05].
    CONSTRAINT ck_label_soc_coulomb_inputs CHECK (method <> 'coulomb_counting' OR (reference_capacity_ah IS NOT NULL AND initial_soc IS NOT NULL)),  -- Coulomb counting states its reference capacity and initial SOC.
    CONSTRAINT ck_label_soc_ocv_table CHECK (method <> 'ocv_lookup' OR ocv_table IS NOT NULL),  -- An OCV lookup names the table it used.
    CONSTRAINT ck_label_soc_ocv_range CHECK (method <> 'ocv_lookup' OR (soc >= -0.05 AND soc <= 1.05))  -- An OCV lookup cannot leave its table, which extends only slightly past 0 and 1.
) STRICT;
CREATE INDEX ix_label_soc_session_time ON label_soc (session_id, recorded_at);

-- label_soh: A ground-truth SOH value for one cycle under one definition, with the reference it was computed against.
CREATE TABLE label_soh (
    label_soh_id INTEGER NOT NULL,  -- Surrogate key of the label. [rowid alias, assigned automatically]
    session_id INTEGER NOT NULL,  -- The session of the labelled cycle.
    cycle_index INTEGER NOT NULL,  -- The labelled cycle.
    definition TEXT NOT NULL,  -- Capacity-, resistance- or energy-based SOH.
    reference_basis TEXT NOT NULL,  -- Whether the reference is the nominal value or the first measured one.
    label_version TEXT NOT NULL,  -- Version of the labelling code or parameters.
    soh REAL NOT NULL,  -- Measured / reference. End of life is conventionally 0.8 (capacity-based); resistance-based SOH grows from about 1. [fraction]
    reference_capacity_ah REAL,  -- Reference capacity (capacity-based SOH). [Ah]
    reference_resistance_ohm REAL,  -- Reference resistance R_0 (resistance-based SOH). [ohm]
    reference_energy_wh REAL,  -- Reference energy (energy-based SOH). [Wh]
    eol_threshold_soh REAL,  -- The SOH threshold end of life is defined by (conventionally 0.8, capacity-based; a resistance-based threshold is above 1); NULL when the label has no RUL/EOL. [fraction]
    eol_cycle_index INTEGER,  -- End of life: the first cycle of the session whose SOH under this definition crosses eol_threshold_soh; NULL when the cell never reaches it (rul_censored) or no threshold.
    rul_cycles INTEGER,  -- Remaining useful life at this cycle in cycles, eol_cycle_index - cycle_index (negative after end of life); when censored, the cycles still observed after this one, a lower bound of the true RUL.
    rul_censored INTEGER,  -- True when the session ends before SOH reaches the threshold (right-censored: no end of life is invented, rul_cycles is a lower bound); NULL when no threshold.
    CONSTRAINT pk_label_soh PRIMARY KEY (label_soh_id),
    CONSTRAINT uq_label_soh_definition UNIQUE (session_id, cycle_index, definition, reference_basis, label_version),
    CONSTRAINT fk_label_soh_cycle FOREIGN KEY (session_id, cycle_index) REFERENCES cycle (session_id, cycle_index) ON DELETE CASCADE,  -- ON DELETE CASCADE: A label is derived from its cycle and means nothing without it.
    CONSTRAINT ck_label_soh_definition_enum CHECK (definition IN ('capacity', 'resistance', 'energy')),  -- definition is one of the soh_definition values.
    CONSTRAINT ck_label_soh_reference_basis_enum CHECK (reference_basis IN ('nominal', 'first_measured')),  -- reference_basis is one of the soh_reference values.
    CONSTRAINT ck_label_soh_soh_range CHECK (soh > 0 AND soh <= 3),  -- soh lies in (0, 3].
    CONSTRAINT ck_label_soh_reference_capacity_ah_range CHECK (reference_capacity_ah > 0),  -- reference_capacity_ah > 0.
    CONSTRAINT ck_label_soh_reference_resistance_ohm_range CHECK (reference_resistance_ohm > 0),  -- reference_resistance_ohm > 0.
    CONSTRAINT ck_label_soh_reference_energy_wh_range CHECK (reference_energy_wh > 0),  -- reference_energy_wh > 0.
    CONSTRAINT ck_label_soh_eol_threshold_soh_range CHECK (eol_threshold_soh > 0 AND eol_threshold_soh <= 3),  -- eol_threshold_soh lies in (0, 3].
    CONSTRAINT ck_label_soh_eol_cycle_index_range CHECK (eol_cycle_index >= 0),  -- eol_cycle_index >= 0.
    CONSTRAINT ck_label_soh_reference CHECK ((definition = 'capacity' AND reference_capacity_ah IS NOT NULL) OR (definition = 'resistance' AND reference_resistance_ohm IS NOT NULL) OR (definition = 'energy' AND reference_energy_wh IS NOT NULL)),  -- The reference value matching the definition is stored with the label.
    CONSTRAINT ck_label_soh_rul CHECK ((eol_threshold_soh IS NULL AND eol_cycle_index IS NULL AND rul_cycles IS NULL AND rul_censored IS NULL) OR (eol_threshold_soh IS NOT NULL AND rul_cycles IS NOT NULL AND rul_censored IS NOT NULL)),  -- RUL and end of life come with their threshold and censoring, or not at all.
    CONSTRAINT ck_label_soh_eol CHECK (eol_cycle_index IS NULL OR rul_cycles = eol_cycle_index - cycle_index),  -- An uncensored RUL counts the cycles to the stated end of life.
    CONSTRAINT ck_label_soh_rul_censored_bool CHECK (rul_censored IN (0, 1))  -- rul_censored is 0 or 1.
) STRICT;

-- model_run: One training run of a SOC or SOH model: what was trained on which data, against which label definition, how the data was split, and how well it did.
CREATE TABLE model_run (
    run_id INTEGER NOT NULL,  -- Surrogate key of the run. [rowid alias, assigned automatically]
    task TEXT NOT NULL,  -- Whether the model estimates SOC or SOH.
    model_name TEXT NOT NULL,  -- Name of the model architecture, e.g. lstm or gpr.
    model_version TEXT NOT NULL,  -- Version of the model code.
    dataset_version TEXT NOT NULL,  -- Version of the data set the run trained on.
    target_soc_method TEXT,  -- The SOC label definition trained against (SOC runs).
    target_soh_definition TEXT,  -- The SOH label definition trained against (SOH runs).
    target_label_version TEXT,  -- label_version of the labels trained against (label_soc or label_soh); with the method or definition it names one label definition. NULL only for version 1 runs.
    feature_version TEXT,  -- cycle_feature.feature_version of the features a SOH run trained on; NULL for SOC runs.
    split_spec TEXT NOT NULL,  -- How the data was split, by cell and never by point: e.g. {"by": "cell", "train": [1, 2], "validation": [3], "test": [4]}.
    hyperparameters TEXT NOT NULL DEFAULT '{}',  -- Hyper-parameters of the run as a JSON object.
    training_started_at REAL NOT NULL,  -- When training started (UTC). [Unix seconds, UTC]
    training_finished_at REAL,  -- When training finished (UTC); NULL while it runs. [Unix seconds, UTC]
    rmse REAL,  -- Root-mean-square error on the test split, in label units. [fraction]
    mae REAL,  -- Mean absolute error on the test split, in label units. [fraction]
    max_error REAL,  -- Largest absolute error on the test split, in label units. [fraction]
    code_revision TEXT NOT NULL,  -- Revision (e.g. git commit) of the training code.
    random_seed INTEGER,  -- Seed of the random number generators.
    CONSTRAINT pk_model_run PRIMARY KEY (run_id),
    CONSTRAINT uq_model_run_task UNIQUE (run_id, task),
    CONSTRAINT ck_model_run_task_enum CHECK (task IN ('soc', 'soh')),  -- task is one of the task values.
    CONSTRAINT ck_model_run_target_soc_method_enum CHECK (target_soc_method IN ('coulomb_counting', 'ocv_lookup', 'model_based', 'simulator', 'bms')),  -- target_soc_method is one of the soc_method values.
    CONSTRAINT ck_model_run_target_soh_definition_enum CHECK (target_soh_definition IN ('capacity', 'resistance', 'energy')),  -- target_soh_definition is one of the soh_definition values.
    CONSTRAINT ck_model_run_rmse_range CHECK (rmse >= 0),  -- rmse >= 0.
    CONSTRAINT ck_model_run_mae_range CHECK (mae >= 0),  -- mae >= 0.
    CONSTRAINT ck_model_run_max_error_range CHECK (max_error >= 0),  -- max_error >= 0.
    CONSTRAINT ck_model_run_target CHECK ((task = 'soc' AND target_soc_method IS NOT NULL AND target_soh_definition IS NULL) OR (task = 'soh' AND target_soh_definition IS NOT NULL AND target_soc_method IS NULL)),  -- A run names the label definition of its own task, and only that one.
    CONSTRAINT ck_model_run_training_order CHECK (training_finished_at IS NULL OR training_finished_at >= training_started_at),  -- Training finishes at or after it starts.
    CONSTRAINT ck_model_run_split_spec_json CHECK (json_valid(split_spec)),  -- split_spec is valid JSON.
    CONSTRAINT ck_model_run_hyperparameters_json CHECK (json_valid(hyperparameters))  -- hyperparameters is valid JSON.
) STRICT;

-- prediction: One value predicted by a model run: SOC for a sample or SOH for a cycle, with the true value it was compared with and the split it belongs to.
CREATE TABLE prediction (
    prediction_id INTEGER NOT NULL,  -- Surrogate key of the prediction. [rowid alias, assigned automatically]
    run_id INTEGER NOT NULL,  -- The run that made the prediction.
    task TEXT NOT NULL,  -- Copy of the run's task; the foreign key on (run_id, task) keeps them equal.
    session_id INTEGER NOT NULL,  -- The session of the predicted sample or cycle.
    record_index INTEGER,  -- The predicted sample (SOC); NULL for SOH.
    recorded_at REAL,  -- Time of the predicted sample (SOC), copied from it; NULL for SOH. [Unix seconds, UTC]
    cycle_index INTEGER,  -- The predicted cycle (SOH); NULL for SOC.
    split TEXT NOT NULL,  -- Which split the predicted sample or cycle belongs to.
    predicted_value REAL NOT NULL,  -- The predicted SOC or SOH. [fraction]
    true_value REAL,  -- The label value it was compared with, copied; NULL when none exists. [fraction]
    uncertainty REAL,  -- Standard deviation of the prediction, in label units; NULL when the model gives none. [fraction]
    label_soc_id INTEGER,  -- The SOC label row the prediction was compared with (SOC); NULL when none.
    label_soh_id INTEGER,  -- The SOH label row the prediction was compared with (SOH); NULL when none.
    CONSTRAINT pk_prediction PRIMARY KEY (prediction_id),
    CONSTRAINT fk_prediction_run FOREIGN KEY (run_id, task) REFERENCES model_run (run_id, task) ON DELETE CASCADE,  -- ON DELETE CASCADE: Predictions are the output of their run; deleting a run deletes what it predicted.
    CONSTRAINT fk_prediction_point FOREIGN KEY (session_id, record_index) REFERENCES timeseries_point (session_id, record_index) ON DELETE CASCADE,  -- ON DELETE CASCADE: A SOC prediction is meaningless without its sample.
    CONSTRAINT fk_prediction_cycle FOREIGN KEY (session_id, cycle_index) REFERENCES cycle (session_id, cycle_index) ON DELETE CASCADE,  -- ON DELETE CASCADE: A SOH prediction is meaningless without its cycle.
    CONSTRAINT fk_prediction_label_soc FOREIGN KEY (label_soc_id) REFERENCES label_soc (label_soc_id) ON DELETE SET NULL,  -- ON DELETE SET NULL: Relabelling deletes old labels; the prediction stays with the copied true_value and loses only the link.
    CONSTRAINT fk_prediction_label_soh FOREIGN KEY (label_soh_id) REFERENCES label_soh (label_soh_id) ON DELETE SET NULL,  -- ON DELETE SET NULL: Relabelling deletes old labels; the prediction stays with the copied true_value and loses only the link.
    CONSTRAINT ck_prediction_task_enum CHECK (task IN ('soc', 'soh')),  -- task is one of the task values.
    CONSTRAINT ck_prediction_split_enum CHECK (split IN ('train', 'validation', 'test')),  -- split is one of the split values.
    CONSTRAINT ck_prediction_uncertainty_range CHECK (uncertainty >= 0),  -- uncertainty >= 0.
    CONSTRAINT ck_prediction_target CHECK ((task = 'soc' AND record_index IS NOT NULL AND recorded_at IS NOT NULL AND cycle_index IS NULL) OR (task = 'soh' AND cycle_index IS NOT NULL AND record_index IS NULL AND recorded_at IS NULL)),  -- A SOC prediction targets one sample, a SOH prediction one cycle; never both or neither.
    CONSTRAINT ck_prediction_label_task CHECK ((label_soc_id IS NULL OR task = 'soc') AND (label_soh_id IS NULL OR task = 'soh'))  -- A prediction references a label of its own task only.
) STRICT;
CREATE INDEX ix_prediction_run ON prediction (run_id, task);
CREATE INDEX ix_prediction_point ON prediction (session_id, record_index);
CREATE INDEX ix_prediction_cycle ON prediction (session_id, cycle_index);
CREATE INDEX ix_prediction_label_soc ON prediction (label_soc_id);
CREATE INDEX ix_prediction_label_soh ON prediction (label_soh_id);

-- eis_spectrum: One electrochemical impedance spectrum measured during a session, at a stated SOC and temperature (an extension beyond the design document's ten tables). Impedance grows with ageing (SOH) and depends on SOC, so both models may use it; its points are in eis_point.
CREATE TABLE eis_spectrum (
    spectrum_id INTEGER NOT NULL,  -- Surrogate key of the spectrum. [rowid alias, assigned automatically]
    session_id INTEGER NOT NULL,  -- The session the spectrum was measured in.
    cycle_index INTEGER,  -- The cycle it was measured after or in; NULL when outside any cycle.
    measured_at REAL,  -- When the sweep started (UTC); NULL when the file has no absolute time. [Unix seconds, UTC]
    soc REAL,  -- SOC at which the spectrum was measured; NULL when not stated. [fraction]
    temperature_celsius REAL,  -- Temperature at which it was measured; NULL when not stated. [degC]
    mode TEXT,  -- Galvanostatic or potentiostatic excitation and its amplitude, as the instrument states it.
    CONSTRAINT pk_eis_spectrum PRIMARY KEY (spectrum_id),
    CONSTRAINT fk_eis_spectrum_session_id FOREIGN KEY (session_id) REFERENCES test_session (session_id) ON DELETE RESTRICT,  -- ON DELETE RESTRICT: Spectra are measurements; deleting their session must not destroy them.
    CONSTRAINT fk_eis_spectrum_cycle FOREIGN KEY (session_id, cycle_index) REFERENCES cycle (session_id, cycle_index) ON DELETE RESTRICT,  -- ON DELETE RESTRICT: Re-segmenting cycles must not silently detach or delete measured spectra.
    CONSTRAINT ck_eis_spectrum_soc_range CHECK (soc >= 0 AND soc <= 1),  -- soc lies in [0, 1].
    CONSTRAINT ck_eis_spectrum_temperature_celsius_range CHECK (temperature_celsius >= -60 AND temperature_celsius <= 200)  -- temperature_celsius lies in [-60, 200].
) STRICT;
CREATE INDEX ix_eis_spectrum_cycle ON eis_spectrum (session_id, cycle_index);

-- eis_point: One frequency of an impedance spectrum (BDF column names).
CREATE TABLE eis_point (
    spectrum_id INTEGER NOT NULL,  -- The spectrum.
    point_index INTEGER NOT NULL,  -- Order of the point within the sweep.
    frequency_hertz REAL NOT NULL,  -- Excitation frequency (BDF frequency_hertz). [Hz]
    real_impedance_ohm REAL NOT NULL,  -- Real part of the impedance (BDF real_impedance_ohm); may be negative at high frequency (inductance of the leads is imaginary, but fitting residues are not). [ohm]
    imaginary_impedance_ohm REAL NOT NULL,  -- Imaginary part, sign as reported (BDF imaginary_impedance_ohm; negative when capacitive). [ohm]
    CONSTRAINT pk_eis_point PRIMARY KEY (spectrum_id, point_index),
    CONSTRAINT fk_eis_point_spectrum_id FOREIGN KEY (spectrum_id) REFERENCES eis_spectrum (spectrum_id) ON DELETE CASCADE,  -- ON DELETE CASCADE: A point is part of its spectrum.
    CONSTRAINT ck_eis_point_point_index_range CHECK (point_index >= 0),  -- point_index >= 0.
    CONSTRAINT ck_eis_point_frequency_hertz_range CHECK (frequency_hertz > 0)  -- frequency_hertz > 0.
) STRICT, WITHOUT ROWID;

-- source_file: A cycler file a session was imported from; a session may come from several (one per channel export, restarts after a power cut). Enough to find, verify and re-import it.
CREATE TABLE source_file (
    source_file_id INTEGER NOT NULL,  -- Surrogate key of the file. [rowid alias, assigned automatically]
    session_id INTEGER NOT NULL,  -- The session imported from this file.
    uri TEXT NOT NULL,  -- Path or URI of the file as it was imported.
    content_sha256 TEXT NOT NULL,  -- SHA-256 of the file's decompressed bytes, lower-case hex; proves which file was read (the same data gzipped or not has one hash).
    file_format TEXT NOT NULL,  -- Format as the importer names it, e.g. arbin_res, maccor_txt, neware_ndax, bdf_csv.
    cycler_software TEXT,  -- Software and version that wrote the file, e.g. "MITS Pro 8.0"; NULL when unknown.
    original_units TEXT,  -- Units of the file's columns before conversion to BDF units, e.g. {"current": "mA", "capacity": "mAh"}; NULL when it was already in BDF units.
    assumed_time_zone TEXT,  -- IANA time zone assumed when the file's local times were converted to UTC (Arbin, Maccor and NASA files write local time), e.g. Europe/Berlin; NULL when the file holds UTC.
    record_index_first INTEGER,  -- First record_index imported from this file; NULL when it holds no samples.
    record_index_last INTEGER,  -- Last record_index imported from this file.
    native_record_first INTEGER,  -- The cycler's own record (data point) number of the file's first imported sample, e.g. Arbin Data_Point 1 (record_index_first holds the session's 0-based index); NULL when the file has none.
    compressed_sha256 TEXT,  -- SHA-256 of the compressed bytes, lower-case hex, when the file was read compressed (.gz); content_sha256 is always of the decompressed bytes. NULL for an uncompressed file.
    imported_at REAL NOT NULL,  -- When the file was imported (UTC). [Unix seconds, UTC]
    CONSTRAINT pk_source_file PRIMARY KEY (source_file_id),
    CONSTRAINT uq_source_file_content UNIQUE (session_id, content_sha256),
    CONSTRAINT fk_source_file_session_id FOREIGN KEY (session_id) REFERENCES test_session (session_id) ON DELETE CASCADE,  -- ON DELETE CASCADE: A file record describes its session's import and means nothing without it.
    CONSTRAINT ck_source_file_record_index_first_range CHECK (record_index_first >= 0),  -- record_index_first >= 0.
    CONSTRAINT ck_source_file_record_index_last_range CHECK (record_index_last >= 0),  -- record_index_last >= 0.
    CONSTRAINT ck_source_file_record_order CHECK (record_index_last >= record_index_first),  -- A file's samples end at or after its first one.
    CONSTRAINT ck_source_file_original_units_json CHECK (original_units IS NULL OR json_valid(original_units))  -- original_units is valid JSON.
) STRICT;

-- Schema version 5, recorded where the migration runner (dbmate) keeps applied migrations.
CREATE TABLE IF NOT EXISTS schema_migrations (version varchar(128) PRIMARY KEY);
INSERT INTO schema_migrations (version) VALUES ('000100'), ('000101'), ('000200'), ('000201'), ('000300'), ('000301'), ('000400'), ('000401'), ('000500'), ('000501');
