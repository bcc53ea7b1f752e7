-- The most recent CNTL_CFG_LOG rows, optionally filtered by stream, process and failure:
-- newest run first, and inside a run the latest process first (never started on top).
SELECT l.run_id, l.prcs_nm, l.data_dt, l.start_dt, l.end_dt, l.status, l.message,
       l.source_row, l.target_row
FROM cntl_af.cntl_cfg_log l
WHERE (%(stream)s::text IS NULL OR l.prcs_nm IN (
         SELECT p.prcs_nm FROM cntl_af.cntl_cfg_prcs p
         JOIN cntl_af.cntl_cfg_prcs_grp g ON g.prcs_grp = p.prcs_grp
         WHERE g.strem_nm = %(stream)s))
  AND (%(process)s::text IS NULL OR l.prcs_nm = %(process)s)
  AND (NOT %(failed)s OR l.status = %(failed_status)s)
ORDER BY max(COALESCE(l.start_dt, l.upt_dt)) OVER (PARTITION BY l.run_id) DESC,
         l.run_id, l.start_dt DESC NULLS FIRST, l.prcs_nm
LIMIT %(limit)s
