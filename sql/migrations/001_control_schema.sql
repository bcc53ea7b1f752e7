-- The seven control tables of llm_assets (schema cntl_af).
-- Column names follow the original LLm-Local-Framework so existing rows move over unchanged.
-- Constraints reject what can never be valid; llm-assets validate reports the rest
-- (cycles, missing notebooks, bad cron fields, ...) with the row and the fix.

CREATE SCHEMA IF NOT EXISTS cntl_af;

CREATE TABLE cntl_af.cntl_cfg_strem (
    strem_nm    varchar(200) PRIMARY KEY,
    question    text,
    strem_owner varchar(200),
    act_f       smallint    NOT NULL DEFAULT 1 CHECK (act_f IN (0, 1)),
    upt_dt      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cntl_af.cntl_cfg_prcs_grp (
    prcs_grp varchar(200) PRIMARY KEY,
    strem_nm varchar(200) NOT NULL
             REFERENCES cntl_af.cntl_cfg_strem (strem_nm) ON UPDATE CASCADE,
    prir     integer     NOT NULL DEFAULT 1 CHECK (prir >= 1),
    act_f    smallint    NOT NULL DEFAULT 1 CHECK (act_f IN (0, 1)),
    upt_dt   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cntl_af.cntl_cfg_sys_file (
    sys_nm     varchar(200) PRIMARY KEY,
    file_type  varchar(20) NOT NULL,
    dlm        varchar(10),
    chunk_size integer     NOT NULL DEFAULT 1000 CHECK (chunk_size > 0),
    overlap    integer     NOT NULL DEFAULT 0 CHECK (overlap >= 0),
    upt_dt     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT cntl_cfg_sys_file_overlap_lt_chunk CHECK (overlap < chunk_size)
);

CREATE TABLE cntl_af.cntl_cfg_prcs (
    prcs_nm     varchar(200) PRIMARY KEY,
    prcs_grp    varchar(200) NOT NULL
                REFERENCES cntl_af.cntl_cfg_prcs_grp (prcs_grp) ON UPDATE CASCADE,
    prir        integer     NOT NULL DEFAULT 1 CHECK (prir >= 1),
    sys_file    varchar(200)
                REFERENCES cntl_af.cntl_cfg_sys_file (sys_nm) ON UPDATE CASCADE,
    embed_model varchar(200),
    gen_model   varchar(200),
    collection  varchar(200),
    nb_path_nm  varchar(500) NOT NULL,
    nb_parm     text,
    act_f       smallint    NOT NULL DEFAULT 1 CHECK (act_f IN (0, 1)),
    upt_dt      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cntl_cfg_prcs_grp_idx ON cntl_af.cntl_cfg_prcs (prcs_grp);

CREATE TABLE cntl_af.cntl_cfg_prcs_depn (
    prcs_nm      varchar(200) NOT NULL
                 REFERENCES cntl_af.cntl_cfg_prcs (prcs_nm) ON UPDATE CASCADE,
    dpnd_prcs_nm varchar(200) NOT NULL
                 REFERENCES cntl_af.cntl_cfg_prcs (prcs_nm) ON UPDATE CASCADE,
    act_f        smallint    NOT NULL DEFAULT 1 CHECK (act_f IN (0, 1)),
    upt_dt       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (prcs_nm, dpnd_prcs_nm),
    CONSTRAINT cntl_cfg_prcs_depn_not_self CHECK (prcs_nm <> dpnd_prcs_nm)
);

CREATE TABLE cntl_af.cntl_cfg_schedule (
    strem_nm  varchar(200) NOT NULL
              REFERENCES cntl_af.cntl_cfg_strem (strem_nm) ON UPDATE CASCADE,
    minutes   varchar(100) NOT NULL,
    hours     varchar(100) NOT NULL,
    day_month varchar(100) NOT NULL DEFAULT '*',
    months    varchar(100) NOT NULL DEFAULT '*',
    day_week  varchar(100) NOT NULL DEFAULT '*',
    upt_dt    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (strem_nm, minutes, hours, day_month, months, day_week)
);

-- One row per run x process, written by the run-status mirror (idempotent upsert).
-- No foreign key to cntl_cfg_prcs: the history outlives a deleted process.
CREATE TABLE cntl_af.cntl_cfg_log (
    log_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    prcs_nm    varchar(200) NOT NULL,
    data_dt    date,
    start_dt   timestamptz,
    end_dt     timestamptz,
    status     smallint    NOT NULL CHECK (status IN (0, 1, 99)),
    message    text,
    source_row bigint,
    target_row bigint,
    run_id     varchar(64) NOT NULL,
    upt_dt     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT cntl_cfg_log_run_prcs_uq UNIQUE (run_id, prcs_nm)
);
CREATE INDEX cntl_cfg_log_prcs_idx ON cntl_af.cntl_cfg_log (prcs_nm, start_dt DESC);

COMMENT ON COLUMN cntl_af.cntl_cfg_log.status IS '1 running, 0 success, 99 failed or cancelled';
COMMENT ON COLUMN cntl_af.cntl_cfg_prcs.nb_path_nm IS 'notebook path relative to notebooks/';
COMMENT ON COLUMN cntl_af.cntl_cfg_prcs.nb_parm IS 'a|b|c (pipe-delimited) or a JSON object';
