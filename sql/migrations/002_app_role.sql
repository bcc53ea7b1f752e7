-- Least-privilege role for the Dagster code (code server, run workers, sensors):
-- read the configuration tables, write the log. Nothing else: no DDL, no config writes.
-- The role is created without a password; `llm-assets db upgrade` gives it LOGIN and the
-- password from LLM_ASSETS_APP_PASSWORD when that variable is set (the compose profile).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'llm_assets_app') THEN
        CREATE ROLE llm_assets_app NOLOGIN;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA cntl_af TO llm_assets_app;
GRANT SELECT ON cntl_af.cntl_cfg_strem, cntl_af.cntl_cfg_prcs_grp, cntl_af.cntl_cfg_prcs,
    cntl_af.cntl_cfg_sys_file, cntl_af.cntl_cfg_prcs_depn, cntl_af.cntl_cfg_schedule,
    cntl_af.schema_migration
    TO llm_assets_app;
GRANT SELECT, INSERT, UPDATE ON cntl_af.cntl_cfg_log TO llm_assets_app;
REVOKE ALL ON SCHEMA public FROM llm_assets_app;
