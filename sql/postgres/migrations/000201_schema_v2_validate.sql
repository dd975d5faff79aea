-- Schema version 1 -> 2, step 2 of 2: validate the constraints 000200_schema_v2.sql added NOT VALID.
-- A separate transaction: VALIDATE CONSTRAINT scans existing rows holding only
-- a SHARE UPDATE EXCLUSIVE lock, so reads and writes go on meanwhile. If it
-- fails, fix the rows it names and run dbmate again; step 1 stays applied.

-- migrate:up
-- [needs-validation] validate ck_battery_pack_cathode_chemistry_enum
ALTER TABLE battery_pack VALIDATE CONSTRAINT ck_battery_pack_cathode_chemistry_enum;
-- [needs-validation] validate ck_battery_pack_anode_chemistry_enum
ALTER TABLE battery_pack VALIDATE CONSTRAINT ck_battery_pack_anode_chemistry_enum;
-- [needs-validation] validate ck_battery_cell_cathode_chemistry_enum
ALTER TABLE battery_cell VALIDATE CONSTRAINT ck_battery_cell_cathode_chemistry_enum;
-- [needs-validation] validate ck_battery_cell_anode_chemistry_enum
ALTER TABLE battery_cell VALIDATE CONSTRAINT ck_battery_cell_anode_chemistry_enum;
-- [needs-validation] validate ck_cycle_cycle_type_enum
ALTER TABLE cycle VALIDATE CONSTRAINT ck_cycle_cycle_type_enum;
-- [needs-validation] validate ck_timeseries_point_step_time_second_range
ALTER TABLE timeseries_point VALIDATE CONSTRAINT ck_timeseries_point_step_time_second_range;
-- [needs-validation] validate ck_timeseries_point_charging_capacity_ah_range
ALTER TABLE timeseries_point VALIDATE CONSTRAINT ck_timeseries_point_charging_capacity_ah_range;
-- [needs-validation] validate ck_timeseries_point_discharging_capacity_ah_range
ALTER TABLE timeseries_point VALIDATE CONSTRAINT ck_timeseries_point_discharging_capacity_ah_range;
-- [needs-validation] validate ck_timeseries_point_charging_energy_wh_range
ALTER TABLE timeseries_point VALIDATE CONSTRAINT ck_timeseries_point_charging_energy_wh_range;
-- [needs-validation] validate ck_timeseries_point_discharging_energy_wh_range
ALTER TABLE timeseries_point VALIDATE CONSTRAINT ck_timeseries_point_discharging_energy_wh_range;
-- [needs-validation] validate ck_timeseries_point_step_count_range
ALTER TABLE timeseries_point VALIDATE CONSTRAINT ck_timeseries_point_step_count_range;
-- [needs-validation] validate ck_timeseries_point_ambient_temperature_celsius_range
ALTER TABLE timeseries_point VALIDATE CONSTRAINT ck_timeseries_point_ambient_temperature_celsius_range;
-- [needs-validation] validate ck_timeseries_point_temperature_t1_celsius_range
ALTER TABLE timeseries_point VALIDATE CONSTRAINT ck_timeseries_point_temperature_t1_celsius_range;
-- [needs-validation] validate ck_timeseries_point_temperature_t2_celsius_range
ALTER TABLE timeseries_point VALIDATE CONSTRAINT ck_timeseries_point_temperature_t2_celsius_range;
-- [needs-validation] validate ck_timeseries_point_temperature_t3_celsius_range
ALTER TABLE timeseries_point VALIDATE CONSTRAINT ck_timeseries_point_temperature_t3_celsius_range;
-- [needs-validation] validate ck_timeseries_point_step_type_enum
ALTER TABLE timeseries_point VALIDATE CONSTRAINT ck_timeseries_point_step_type_enum;
-- [safe] validate ck_cycle_feature_coulombic_efficiency_range
ALTER TABLE cycle_feature VALIDATE CONSTRAINT ck_cycle_feature_coulombic_efficiency_range;
-- [safe] validate ck_cycle_feature_energy_efficiency_range
ALTER TABLE cycle_feature VALIDATE CONSTRAINT ck_cycle_feature_energy_efficiency_range;
-- [needs-validation] validate ck_cycle_feature_dcir_pulse_current_ampere_range
ALTER TABLE cycle_feature VALIDATE CONSTRAINT ck_cycle_feature_dcir_pulse_current_ampere_range;
-- [needs-validation] validate ck_cycle_feature_dcir_pulse_duration_second_range
ALTER TABLE cycle_feature VALIDATE CONSTRAINT ck_cycle_feature_dcir_pulse_duration_second_range;
-- [needs-validation] validate ck_cycle_feature_dcir_soc_range
ALTER TABLE cycle_feature VALIDATE CONSTRAINT ck_cycle_feature_dcir_soc_range;
-- [safe] validate ck_label_soc_method_enum
ALTER TABLE label_soc VALIDATE CONSTRAINT ck_label_soc_method_enum;
-- [safe] validate ck_label_soc_soc_range
ALTER TABLE label_soc VALIDATE CONSTRAINT ck_label_soc_soc_range;
-- [needs-validation] validate ck_label_soc_ocv_range
ALTER TABLE label_soc VALIDATE CONSTRAINT ck_label_soc_ocv_range;
-- [safe] validate ck_model_run_target_soc_method_enum
ALTER TABLE model_run VALIDATE CONSTRAINT ck_model_run_target_soc_method_enum;
-- [needs-validation] validate ck_prediction_uncertainty_range
ALTER TABLE prediction VALIDATE CONSTRAINT ck_prediction_uncertainty_range;
-- [needs-validation] validate ck_prediction_label_task
ALTER TABLE prediction VALIDATE CONSTRAINT ck_prediction_label_task;
-- [needs-validation] validate fk_prediction_label_soc
ALTER TABLE prediction VALIDATE CONSTRAINT fk_prediction_label_soc;
-- [needs-validation] validate fk_prediction_label_soh
ALTER TABLE prediction VALIDATE CONSTRAINT fk_prediction_label_soh;

-- migrate:down
-- Nothing to undo: validating changes no definition.
