-- Demo stream `promo_reco`: promotion recommendation for card customers.
--   group promo_reco_sources (prir 1): promo_reco_land_sources  seeded catalogue, customers,
--                                      transactions into raw/promo_reco/ (only when changed)
--   group promo_reco_ingest  (prir 2): promo_reco_ingest_promotions (embed + index into
--        collection promo_reco_promotions), promo_reco_ingest_customers,
--        promo_reco_ingest_transactions (read and validate the tables)
--   group promo_reco_profile (prir 3): promo_reco_profiles  spending profile per customer
--   group promo_reco_rank    (prir 4): promo_reco_rank      vector search for candidates, the
--        LLM ranks the top 5 (schema-validated JSON, deterministic fallback), exports
--        export/promo_reco/recommendations.csv|.json and metrics.json
--   group promo_reco_report  (prir 5): promo_reco_report    export/promo_reco/report.html
-- rank_customers bounds the LLM work per run (rank_customers_small with
-- LLM_ASSETS_DEMO_SCALE=small); the other customers keep the retrieval order.
-- Re-runnable: every insert is an upsert.
INSERT INTO cntl_af.cntl_cfg_strem (strem_nm, question, strem_owner, act_f)
VALUES ('promo_reco',
        'Which five current promotions fit each card customer best, and why?',
        'marketing-analytics', 1)
ON CONFLICT (strem_nm) DO UPDATE SET question = EXCLUDED.question,
    strem_owner = EXCLUDED.strem_owner, act_f = EXCLUDED.act_f, upt_dt = now();

INSERT INTO cntl_af.cntl_cfg_prcs_grp (prcs_grp, strem_nm, prir, act_f) VALUES
    ('promo_reco_sources', 'promo_reco', 1, 1),
    ('promo_reco_ingest',  'promo_reco', 2, 1),
    ('promo_reco_profile', 'promo_reco', 3, 1),
    ('promo_reco_rank',    'promo_reco', 4, 1),
    ('promo_reco_report',  'promo_reco', 5, 1)
ON CONFLICT (prcs_grp) DO UPDATE SET strem_nm = EXCLUDED.strem_nm, prir = EXCLUDED.prir,
    act_f = EXCLUDED.act_f, upt_dt = now();

-- One promotion = one vector (the row is never split); chunk_size caps its text.
INSERT INTO cntl_af.cntl_cfg_sys_file (sys_nm, file_type, dlm, chunk_size, overlap) VALUES
    ('promo_reco_csv', 'csv', ',', 1000, 0)
ON CONFLICT (sys_nm) DO UPDATE SET file_type = EXCLUDED.file_type, dlm = EXCLUDED.dlm,
    chunk_size = EXCLUDED.chunk_size, overlap = EXCLUDED.overlap, upt_dt = now();

INSERT INTO cntl_af.cntl_cfg_prcs (prcs_nm, prcs_grp, prir, sys_file, embed_model, gen_model,
                                   collection, nb_path_nm, nb_parm, act_f) VALUES
    ('promo_reco_land_sources', 'promo_reco_sources', 1, NULL, NULL, NULL, NULL,
     'promo_reco/land_sources.ipynb', 'seed=20260', 1),
    ('promo_reco_ingest_promotions', 'promo_reco_ingest', 1, 'promo_reco_csv', 'all-minilm',
     NULL, 'promo_reco_promotions', 'promo_reco/ingest_promotions.ipynb',
     'file=promotions.csv', 1),
    ('promo_reco_ingest_customers', 'promo_reco_ingest', 1, 'promo_reco_csv', NULL, NULL, NULL,
     'promo_reco/ingest_table.ipynb', 'file=customers.csv|key=customer_id', 1),
    ('promo_reco_ingest_transactions', 'promo_reco_ingest', 1, 'promo_reco_csv', NULL, NULL,
     NULL, 'promo_reco/ingest_table.ipynb', 'file=transactions.csv|key=txn_id', 1),
    ('promo_reco_profiles', 'promo_reco_profile', 1, NULL, NULL, NULL, NULL,
     'promo_reco/build_profiles.ipynb', NULL, 1),
    ('promo_reco_rank', 'promo_reco_rank', 1, NULL, 'all-minilm', 'qwen2.5:0.5b',
     'promo_reco_promotions', 'promo_reco/rank.ipynb',
     'candidates=10|top_n=5|rank_customers=20|rank_customers_small=3', 1),
    ('promo_reco_report', 'promo_reco_report', 1, NULL, NULL, NULL, NULL,
     'promo_reco/report.ipynb', NULL, 1)
ON CONFLICT (prcs_nm) DO UPDATE SET prcs_grp = EXCLUDED.prcs_grp, prir = EXCLUDED.prir,
    sys_file = EXCLUDED.sys_file, embed_model = EXCLUDED.embed_model,
    gen_model = EXCLUDED.gen_model, collection = EXCLUDED.collection,
    nb_path_nm = EXCLUDED.nb_path_nm, nb_parm = EXCLUDED.nb_parm, act_f = EXCLUDED.act_f,
    upt_dt = now();

INSERT INTO cntl_af.cntl_cfg_prcs_depn (prcs_nm, dpnd_prcs_nm, act_f) VALUES
    ('promo_reco_ingest_promotions', 'promo_reco_land_sources', 1),
    ('promo_reco_ingest_customers', 'promo_reco_land_sources', 1),
    ('promo_reco_ingest_transactions', 'promo_reco_land_sources', 1),
    ('promo_reco_profiles', 'promo_reco_ingest_customers', 1),
    ('promo_reco_profiles', 'promo_reco_ingest_transactions', 1),
    ('promo_reco_rank', 'promo_reco_profiles', 1),
    ('promo_reco_rank', 'promo_reco_ingest_promotions', 1),
    ('promo_reco_report', 'promo_reco_rank', 1)
ON CONFLICT (prcs_nm, dpnd_prcs_nm) DO UPDATE SET act_f = EXCLUDED.act_f, upt_dt = now();

INSERT INTO cntl_af.cntl_cfg_schedule (strem_nm, minutes, hours, day_month, months, day_week)
VALUES ('promo_reco', '0', '5', '*', '*', '1')
ON CONFLICT DO NOTHING;
