-- Demo stream `demo_sales`: three notebook processes in two priority tiers.
--   tier (1,1): demo_sales_orders, demo_sales_customers    (group demo_sales_prep, prir 1)
--   tier (2,1): demo_sales_summary, depends on both          (group demo_sales_report, prir 2)
-- Re-runnable: every insert is an upsert.
INSERT INTO cntl_af.cntl_cfg_strem (strem_nm, question, strem_owner, act_f)
VALUES ('demo_sales', NULL, 'data-team', 1)
ON CONFLICT (strem_nm) DO UPDATE SET act_f = EXCLUDED.act_f, strem_owner = EXCLUDED.strem_owner,
    upt_dt = now();

INSERT INTO cntl_af.cntl_cfg_prcs_grp (prcs_grp, strem_nm, prir, act_f) VALUES
    ('demo_sales_prep',   'demo_sales', 1, 1),
    ('demo_sales_report', 'demo_sales', 2, 1)
ON CONFLICT (prcs_grp) DO UPDATE SET strem_nm = EXCLUDED.strem_nm, prir = EXCLUDED.prir,
    act_f = EXCLUDED.act_f, upt_dt = now();

INSERT INTO cntl_af.cntl_cfg_prcs (prcs_nm, prcs_grp, prir, nb_path_nm, nb_parm, act_f) VALUES
    ('demo_sales_orders',    'demo_sales_prep',   1, 'demo/sales_orders.ipynb',
     'rows=500|seed=7', 1),
    ('demo_sales_customers', 'demo_sales_prep',   1, 'demo/sales_customers.ipynb', NULL, 1),
    ('demo_sales_summary',   'demo_sales_report', 1, 'demo/sales_summary.ipynb',   NULL, 1)
ON CONFLICT (prcs_nm) DO UPDATE SET prcs_grp = EXCLUDED.prcs_grp, prir = EXCLUDED.prir,
    nb_path_nm = EXCLUDED.nb_path_nm, nb_parm = EXCLUDED.nb_parm, act_f = EXCLUDED.act_f,
    upt_dt = now();

INSERT INTO cntl_af.cntl_cfg_prcs_depn (prcs_nm, dpnd_prcs_nm, act_f) VALUES
    ('demo_sales_summary', 'demo_sales_orders', 1),
    ('demo_sales_summary', 'demo_sales_customers', 1)
ON CONFLICT (prcs_nm, dpnd_prcs_nm) DO UPDATE SET act_f = EXCLUDED.act_f, upt_dt = now();

INSERT INTO cntl_af.cntl_cfg_schedule (strem_nm, minutes, hours, day_month, months, day_week)
VALUES ('demo_sales', '0', '6', '*', '*', '*')
ON CONFLICT DO NOTHING;
