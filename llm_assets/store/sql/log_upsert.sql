-- One CNTL_CFG_LOG row per (run_id, prcs_nm): insert, or update when something changed.
-- A final status (0 success, 99 failed) is never downgraded to 1 (running); unchanged rows
-- are not rewritten, so upt_dt keeps the time of the last real change.
INSERT INTO cntl_af.cntl_cfg_log AS l (prcs_nm, run_id, data_dt, start_dt, end_dt, status, message, source_row, target_row) VALUES %s
ON CONFLICT (run_id, prcs_nm) DO UPDATE SET
    data_dt    = COALESCE(EXCLUDED.data_dt, l.data_dt),
    start_dt   = COALESCE(EXCLUDED.start_dt, l.start_dt),
    end_dt     = COALESCE(EXCLUDED.end_dt, l.end_dt),
    status     = EXCLUDED.status,
    message    = EXCLUDED.message,
    source_row = COALESCE(EXCLUDED.source_row, l.source_row),
    target_row = COALESCE(EXCLUDED.target_row, l.target_row),
    upt_dt     = now()
WHERE (l.status = 1 OR EXCLUDED.status <> 1)
  AND (l.data_dt, l.start_dt, l.end_dt, l.status, l.message, l.source_row, l.target_row)
      IS DISTINCT FROM
      (COALESCE(EXCLUDED.data_dt, l.data_dt), COALESCE(EXCLUDED.start_dt, l.start_dt),
       COALESCE(EXCLUDED.end_dt, l.end_dt), EXCLUDED.status, EXCLUDED.message,
       COALESCE(EXCLUDED.source_row, l.source_row), COALESCE(EXCLUDED.target_row, l.target_row))
