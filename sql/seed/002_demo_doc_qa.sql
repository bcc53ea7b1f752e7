-- Demo stream `doc_qa`: question answering over PDF, CSV and TXT documents (RAG).
--   group doc_qa_sources (prir 1): doc_qa_land_sources   lands the seeded demo documents
--                                                        in raw/doc_qa/ (only when changed)
--   group doc_qa_ingest  (prir 2): doc_qa_ingest_pdf, doc_qa_ingest_csv, doc_qa_ingest_txt
--        one notebook, three sys files: chunk, embed, upsert into collection doc_qa_chunks
--   group doc_qa_answer  (prir 3): doc_qa_answer        retrieves context for the stream's
--        question, answers it grounded (a quoted sentence and its source, or "not found in
--        the sources"; export/doc_qa/answer.json|.md) and measures retrieval recall@5,
--        answer accuracy and citation precision on every labelled question
--        (eval_answers=all; export/doc_qa/metrics.json)
-- Model names are Ollama names; the local profile maps them to its shipped local models.
-- Re-runnable: every insert is an upsert.
INSERT INTO cntl_af.cntl_cfg_strem (strem_nm, question, strem_owner, act_f)
VALUES ('doc_qa',
        'How many days do I have to dispute a card transaction, and when do I receive a '
        'provisional credit?',
        'knowledge-team', 1)
ON CONFLICT (strem_nm) DO UPDATE SET question = EXCLUDED.question,
    strem_owner = EXCLUDED.strem_owner, act_f = EXCLUDED.act_f, upt_dt = now();

INSERT INTO cntl_af.cntl_cfg_prcs_grp (prcs_grp, strem_nm, prir, act_f) VALUES
    ('doc_qa_sources', 'doc_qa', 1, 1),
    ('doc_qa_ingest',  'doc_qa', 2, 1),
    ('doc_qa_answer',  'doc_qa', 3, 1)
ON CONFLICT (prcs_grp) DO UPDATE SET strem_nm = EXCLUDED.strem_nm, prir = EXCLUDED.prir,
    act_f = EXCLUDED.act_f, upt_dt = now();

-- chunk_size and overlap are characters (llm_assets.ai.chunking); CSV rows are packed whole.
INSERT INTO cntl_af.cntl_cfg_sys_file (sys_nm, file_type, dlm, chunk_size, overlap) VALUES
    ('doc_qa_pdf', 'pdf', NULL, 700, 160),
    ('doc_qa_csv', 'csv', ';',  400, 0),
    ('doc_qa_txt', 'txt', NULL, 500, 160)
ON CONFLICT (sys_nm) DO UPDATE SET file_type = EXCLUDED.file_type, dlm = EXCLUDED.dlm,
    chunk_size = EXCLUDED.chunk_size, overlap = EXCLUDED.overlap, upt_dt = now();

INSERT INTO cntl_af.cntl_cfg_prcs (prcs_nm, prcs_grp, prir, sys_file, embed_model, gen_model,
                                   collection, nb_path_nm, nb_parm, act_f) VALUES
    ('doc_qa_land_sources', 'doc_qa_sources', 1, NULL, NULL, NULL, NULL,
     'doc_qa/land_sources.ipynb', 'seed=20260', 1),
    ('doc_qa_ingest_pdf', 'doc_qa_ingest', 1, 'doc_qa_pdf', 'all-minilm', NULL,
     'doc_qa_chunks', 'doc_qa/ingest.ipynb', NULL, 1),
    ('doc_qa_ingest_csv', 'doc_qa_ingest', 1, 'doc_qa_csv', 'all-minilm', NULL,
     'doc_qa_chunks', 'doc_qa/ingest.ipynb', NULL, 1),
    ('doc_qa_ingest_txt', 'doc_qa_ingest', 1, 'doc_qa_txt', 'all-minilm', NULL,
     'doc_qa_chunks', 'doc_qa/ingest.ipynb', NULL, 1),
    ('doc_qa_answer', 'doc_qa_answer', 1, NULL, 'all-minilm', 'qwen2.5:0.5b',
     'doc_qa_chunks', 'doc_qa/answer.ipynb',
     'top_k=5|search=hybrid|eval_answers=all|eval_answers_small=all', 1)
ON CONFLICT (prcs_nm) DO UPDATE SET prcs_grp = EXCLUDED.prcs_grp, prir = EXCLUDED.prir,
    sys_file = EXCLUDED.sys_file, embed_model = EXCLUDED.embed_model,
    gen_model = EXCLUDED.gen_model, collection = EXCLUDED.collection,
    nb_path_nm = EXCLUDED.nb_path_nm, nb_parm = EXCLUDED.nb_parm, act_f = EXCLUDED.act_f,
    upt_dt = now();

INSERT INTO cntl_af.cntl_cfg_prcs_depn (prcs_nm, dpnd_prcs_nm, act_f) VALUES
    ('doc_qa_ingest_pdf', 'doc_qa_land_sources', 1),
    ('doc_qa_ingest_csv', 'doc_qa_land_sources', 1),
    ('doc_qa_ingest_txt', 'doc_qa_land_sources', 1),
    ('doc_qa_answer', 'doc_qa_ingest_pdf', 1),
    ('doc_qa_answer', 'doc_qa_ingest_csv', 1),
    ('doc_qa_answer', 'doc_qa_ingest_txt', 1)
ON CONFLICT (prcs_nm, dpnd_prcs_nm) DO UPDATE SET act_f = EXCLUDED.act_f, upt_dt = now();

INSERT INTO cntl_af.cntl_cfg_schedule (strem_nm, minutes, hours, day_month, months, day_week)
VALUES ('doc_qa', '30', '6', '*', '*', '1-5')
ON CONFLICT DO NOTHING;
