-- Schedules replaced by the legacy schedule rows of their stream (llm-assets db import-legacy).
DELETE FROM cntl_af.cntl_cfg_schedule
WHERE (strem_nm, minutes, hours, day_month, months, day_week) IN (VALUES %s)
