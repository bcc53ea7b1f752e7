-- Write imported rows into one cntl_af table (llm-assets db import-legacy): insert, or
-- replace the row with the same key.  Filled in by llm_assets.store.legacy.
INSERT INTO cntl_af.{table} ({columns}) VALUES %s
ON CONFLICT ({key}) DO UPDATE SET ({columns}) = ROW({excluded})
