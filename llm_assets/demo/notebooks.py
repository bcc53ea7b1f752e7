"""Author the demo notebooks (notebooks/doc_qa/*.ipynb, notebooks/promo_reco/*.ipynb).

    python -m llm_assets.demo.notebooks        # rewrites them from the cells below

The notebooks are generated so they stay reproducible and reviewable here; the logic they
call lives in llm_assets.demo (unit-tested without Dagster).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from llm_assets import config

HEAD = "from llm_assets import nb"


def _resources(keys: list[str]) -> str:
    return ("# Dagster: the process's resources; by hand: the profile's\n"
            "from llm_assets.demo import handrun\n"
            f"res = handrun.resources(globals(), {keys!r})")


def _params(process: str, extra: str = "", **defaults) -> str:
    values = {"process": process, **defaults}
    return f"params = nb.bind({values!r})" + (f"\n{extra}" if extra else "")


LAND = [
    ("md", "# Land the demo sources\nWrites the seeded demo files of this stream under "
           "`raw/<stream>/` in the data lake, only those missing or changed "
           "(`llm_assets.demo.generate`). `LLM_ASSETS_DEMO_SCALE=small` lands the reduced "
           "data set.", []),
    ("code", HEAD, []),
    ("code", "PARAMS", ["parameters"]),
    ("code", _resources(["datalake"]), []),
    ("code", "from llm_assets.demo import generate\n\n"
             "size = generate.scale()\n"
             "dataset = params.nb_kwargs.get('dataset', params.stream)\n"
             "seed = int(params.nb_kwargs.get('seed', generate.DEFAULT_SEED))\n"
             "status = generate.upload(res.datalake, (dataset,), size, seed)\n"
             "changed = {k: v for k, v in status.items() if v != 'unchanged'}\n"
             "nb.report(source_row=len(status), target_row=len(changed), scale=size.name,\n"
             "          seed=seed, files_changed=len(changed))\n"
             "nb.result({'scale': size.name, 'seed': seed, 'files': status})\n"
             "changed or 'all files unchanged'", []),
]

DOC_INGEST = [
    ("md", "# Ingest documents of one sys file\nReads every `raw/<stream>/<file_type>/` "
           "document, chunks it per the process's `cntl_cfg_sys_file` row (file type, "
           "delimiter, chunk size and overlap in characters), embeds the chunks and upserts "
           "them into the process's collection. Chunk ids are deterministic: re-ingesting "
           "replaces, never duplicates.", []),
    ("code", HEAD, []),
    ("code", "PARAMS", ["parameters"]),
    ("code", _resources(["datalake", "embeddings", "vectorstore"]), []),
    ("code", "from llm_assets.demo import ingest\n\n"
             "summary = ingest.ingest_documents(\n"
             "    res.datalake, res.embeddings, res.vectorstore, stream=params.stream,\n"
             "    sys_file=params.sys_file, collection=params.collection,\n"
             "    embed_model=params.embed_model)\n"
             "nb.report(source_row=summary['documents'], target_row=summary['chunks'],\n"
             "          collection=summary['collection'],\n"
             "          collection_count=summary['collection_count'],\n"
             "          removed_stale=summary['removed_stale'])\n"
             "nb.result(summary)\nsummary", []),
]

DOC_ANSWER = [
    ("md", "# Answer the stream's question with citations\nRetrieves context for "
           "`params.question` (hybrid or vector top-k), asks the LLM for a JSON answer that "
           "cites passage numbers, and writes `export/<stream>/answer.json` and `.md`. Then "
           "measures retrieval recall@5 on the labelled questions and the share of "
           "schema-valid LLM outputs (`export/<stream>/metrics.json`, read by the asset "
           "checks).", []),
    ("code", HEAD, []),
    ("code", "PARAMS", ["parameters"]),
    ("code", _resources(["datalake", "embeddings", "vectorstore", "llm"]), []),
    ("code", "import json\n\n"
             "from llm_assets.demo import docqa, generate, metrics\n"
             "from llm_assets.errors import ConfigError\n\n"
             "kw = params.nb_kwargs\n"
             "small = generate.scale().name == 'small'\n"
             "top_k = int(kw.get('top_k', 5))\n"
             "mode = kw.get('search', 'hybrid')\n"
             "n_eval = int(kw.get('eval_answers_small' if small else 'eval_answers', 0))\n"
             "if not params.question:\n"
             "    raise ConfigError(f'stream {params.stream} has no question: set '\n"
             "                      'cntl_cfg_strem.question')\n"
             "search = dict(collection=params.collection, embed_model=params.embed_model,\n"
             "              mode=mode)", []),
    ("md", "## 1. The stream's question", []),
    ("code", "hits = docqa.retrieve(res.embeddings, res.vectorstore, texts=[params.question],\n"
             "                      k=top_k, **search)[0]\n"
             "result = docqa.answer(res.llm, params.question, hits, params.gen_model)\n"
             "answer_md = docqa.answer_markdown(result, params.data_dt)\n"
             "res.datalake.put_text(f'export/{params.stream}/answer.json',\n"
             "                      json.dumps(result, indent=1))\n"
             "res.datalake.put_text(f'export/{params.stream}/answer.md', answer_md)\n"
             "print(answer_md)", []),
    ("md", "## 2. Retrieval recall@5 on the labelled questions", []),
    ("code", "questions = docqa.load_questions(res.datalake, params.stream)\n"
             "chunks = docqa.load_chunks(res.datalake, params.stream)\n"
             "relevant = docqa.label(questions, chunks)\n"
             "found = docqa.retrieve(res.embeddings, res.vectorstore,\n"
             "                       texts=[q['question'] for q in questions], k=5, **search)\n"
             "evaluation = docqa.evaluate(questions, relevant, found, 5)\n"
             "res.datalake.put_text(f'export/{params.stream}/retrieval_eval.json',\n"
             "                      json.dumps(evaluation['questions'], indent=1))\n"
             "print(f\"recall@5 {evaluation['recall_at_k']:.3f}  recall@1 \"\n"
             "      f\"{evaluation['recall_at_1']:.3f}  over {len(questions)} questions\")", []),
    ("md", "## 3. Structured-output validity", []),
    ("code", "step = max(1, len(questions) // max(1, n_eval))\n"
             "picked = list(range(0, len(questions), step))[:n_eval]\n"
             "extra = [docqa.answer(res.llm, questions[i]['question'], found[i],\n"
             "                      params.gen_model) for i in picked]\n"
             "outputs = [result, *extra]\n"
             "valid = sum(o['valid'] for o in outputs)\n"
             "cited = [bool({c['chunk_id'] for c in o['citations']} & relevant[i])\n"
             "         for i, o in zip(picked, extra) if o['valid']]\n"
             "stored = res.vectorstore.count(params.collection)\n"
             "m = {'stream': params.stream, 'run_id': params.run_id, 'data_dt': params.data_dt,\n"
             "     'collection': params.collection, 'search': mode,\n"
             "     'questions': len(questions),\n"
             "     'retrieval_recall_at_5': evaluation['recall_at_k'],\n"
             "     'retrieval_recall_at_1': evaluation['recall_at_1'],\n"
             "     'unanswerable_questions': evaluation['unanswerable'],\n"
             "     'llm_outputs': len(outputs), 'llm_valid': valid,\n"
             "     'llm_valid_share': valid / len(outputs),\n"
             "     'eval_answers_citing_relevant_chunk': sum(cited),\n"
             "     'llm_model': params.gen_model,\n"
             "     'llm_model_used': sorted({str(o['model']) for o in outputs if o['valid']}),\n"
             "     'llm_retries': getattr(res.llm, 'retries', None),\n"
             "     'collection_count': stored, 'expected_vectors': len(chunks),\n"
             "     'distinct_chunk_ids': len({c['id'] for c in chunks})}\n"
             "metrics.write(res.datalake, params.stream, m)\n"
             "nb.report(source_row=len(questions), target_row=len(outputs),\n"
             "          recall_at_5=m['retrieval_recall_at_5'],\n"
             "          llm_valid_share=m['llm_valid_share'], answer=result['answer'][:500],\n"
             "          answered_by=result['answered_by'],\n"
             "          answer_md=res.datalake.url(f'export/{params.stream}/answer.md'))\n"
             "nb.result({'answer': result, 'metrics': m})\nm", []),
]

PROMO_INGEST = [
    ("md", "# Ingest the promotions catalogue\nReads the catalogue with the sys file's "
           "delimiter, checks it, and indexes one vector per promotion (title, description "
           "and category, capped at the sys file's chunk size) into the process's collection, "
           "with segment, minimum card tier, category and merchant as filterable metadata. "
           "Ids are stable per promo_id; promotions that left the file leave the collection.",
     []),
    ("code", HEAD, []),
    ("code", "PARAMS", ["parameters"]),
    ("code", _resources(["datalake", "embeddings", "vectorstore"]), []),
    ("code", "from llm_assets.demo import ingest\n"
             "from llm_assets.errors import ConfigError\n\n"
             "META = ['promo_id', 'category', 'merchant', 'segment', 'min_tier', 'valid_to']\n"
             "key = f\"raw/{params.stream}/{params.nb_kwargs.get('file', 'promotions.csv')}\"\n"
             "promos = ingest.read_table(res.datalake, key, params.sys_file,\n"
             "                           [*META, 'title', 'description'])\n"
             "repeated = sorted(set(promos.promo_id[promos.promo_id.duplicated()]))\n"
             "if repeated:\n"
             "    raise ConfigError(f'{key}: promo_id repeated: {repeated[:5]}')\n"
             "promos['text'] = (promos.title + '. ' + promos.description + ' Category: '\n"
             "                  + promos.category.str.replace('_', ' ') + '.')\n"
             "chunks = ingest.record_chunks(\n"
             "    promos, doc=key, key_column='promo_id', text_columns=['text'],\n"
             "    meta_columns=META, collection=params.collection,\n"
             "    max_chars=params.sys_file['chunk_size'])\n"
             "summary = ingest.store(res.datalake, res.embeddings, res.vectorstore,\n"
             "                       stream=params.stream, name='promotions',\n"
             "                       collection=params.collection,\n"
             "                       embed_model=params.embed_model, chunks=chunks,\n"
             "                       documents=[key])\n"
             "nb.report(source_row=len(promos), target_row=summary['upserted'],\n"
             "          collection=params.collection,\n"
             "          collection_count=summary['collection_count'])\n"
             "nb.result(promos.drop(columns='text'))\nsummary", []),
]

TABLE_INGEST = [
    ("md", "# Ingest a table\nReads `raw/<stream>/<file>` (nb_parm `file`) with the sys "
           "file's delimiter and checks its key column (nb_parm `key`): present, unique, never "
           "empty. The table is handed to the dependent processes.", []),
    ("code", HEAD, []),
    ("code", "PARAMS", ["parameters"]),
    ("code", _resources(["datalake"]), []),
    ("code", "from llm_assets.demo import ingest\n"
             "from llm_assets.errors import ConfigError\n\n"
             "file, key_column = params.nb_kwargs['file'], params.nb_kwargs['key']\n"
             "key = f'raw/{params.stream}/{file}'\n"
             "table = ingest.read_table(res.datalake, key, params.sys_file, [key_column])\n"
             "bad = int(table[key_column].isna().sum() + table[key_column].duplicated().sum())\n"
             "if bad:\n"
             "    raise ConfigError(f'{key}: {bad} rows with an empty or repeated {key_column}')\n"
             "nb.report(source_row=len(table), target_row=len(table),\n"
             "          columns=list(table.columns))\n"
             "nb.result(table)\ntable.head()", []),
]

PROFILES = [
    ("md", "# Customer spending profiles\nPer customer: spend and number of card transactions "
           "over the period, the top three categories with their share of spend and favourite "
           "merchants, and a one-paragraph text summary the ranking prompt uses.", []),
    ("code", HEAD, []),
    ("code", "PARAMS", ["parameters"]),
    ("code", _resources(["datalake"]), []),
    ("code", "from llm_assets.demo import profiles\n\n"
             "customers = handrun.upstream(res.datalake, 'promo_reco_ingest_customers',\n"
             "                             promo_reco_ingest_customers)\n"
             "transactions = handrun.upstream(res.datalake, 'promo_reco_ingest_transactions',\n"
             "                                promo_reco_ingest_transactions)\n"
             "frame = profiles.build_profiles(customers, transactions)\n"
             "res.datalake.put_df(f'export/{params.stream}/profiles.csv', frame)\n"
             "nb.report(source_row=len(transactions), target_row=len(frame))\n"
             "nb.result(frame)\nframe[['customer_id', 'profile_text']].head()", []),
]

RANK = [
    ("md", "# Rank promotions per customer\n1. Candidates: vector search per spending "
           "category, filtered to promotions open to the customer's segment and card tier.\n"
           "2. The LLM scores the candidates of the `rank_customers` highest-spending "
           "customers (JSON schema, grammar-constrained, pydantic-validated); an invalid "
           "answer falls back to the retrieval order and counts as invalid. Other customers "
           "keep the retrieval order.\n3. Exports `recommendations.csv|json`, "
           "`llm_outputs.json` and `metrics.json` under `export/<stream>/`.", []),
    ("code", HEAD, []),
    ("code", "PARAMS", ["parameters"]),
    ("code", _resources(["datalake", "embeddings", "vectorstore", "llm"]), []),
    ("code", "import json\n\nimport pandas as pd\n\n"
             "from llm_assets.demo import generate, ingest, metrics, ranking, reco\n\n"
             "kw = params.nb_kwargs\n"
             "small = generate.scale().name == 'small'\n"
             "count, top_n = int(kw.get('candidates', 8)), int(kw.get('top_n', 5))\n"
             "n_rank = int(kw.get('rank_customers_small' if small else 'rank_customers', 20))\n"
             "max_tokens = int(kw.get('max_tokens', 600))\n"
             "profiles_df = handrun.upstream(res.datalake, 'promo_reco_profiles',\n"
             "                               promo_reco_profiles)\n"
             "promos_df = handrun.upstream(res.datalake, 'promo_reco_ingest_promotions',\n"
             "                             promo_reco_ingest_promotions)\n"
             "promos = {p['promo_id']: p for p in promos_df.to_dict('records')}\n"
             "profiles = profiles_df.to_dict('records')", []),
    ("md", "## 1. Candidates by vector search", []),
    ("code", "cands = reco.candidates_for_all(profiles, promos, res.embeddings, res.vectorstore,\n"
             "                                collection=params.collection,\n"
             "                                embed_model=params.embed_model, count=count)\n"
             "sum(len(c) for c in cands) / max(1, len(cands))", []),
    ("md", "## 2. LLM ranking (bounded)", []),
    ("code", "order = sorted((i for i, c in enumerate(cands) if len(c) >= top_n),\n"
             "               key=lambda i: (-profiles[i]['total_spend'],\n"
             "                              profiles[i]['customer_id']))[:n_rank]\n"
             "llm_out = {profiles[i]['customer_id']: reco.rank_with_llm(\n"
             "    res.llm, profiles[i], cands[i], top_n, params.gen_model, max_tokens)\n"
             "    for i in order}\n"
             "valid = sum(o['valid'] for o in llm_out.values())\n"
             "print(f'{valid} of {len(llm_out)} LLM outputs valid')", []),
    ("md", "## 3. Recommendations, metrics, exports", []),
    ("code", "rows = []\n"
             "for profile, found in zip(profiles, cands):\n"
             "    out = llm_out.get(profile['customer_id'])\n"
             "    if out is None:\n"
             "        picks, by = ranking.fallback(profile, found, top_n), 'retrieval'\n"
             "    else:\n"
             "        picks, by = out['picks'], 'llm' if out['valid'] else 'fallback'\n"
             "    rows += reco.recommendation_rows(profile, picks, promos, by)\n"
             "recs = pd.DataFrame(rows)\n"
             "ids = [p['customer_id'] for p in profiles]\n"
             "fitting = reco.load_fitting(res.datalake, params.stream)\n"
             "retrieval = {p['customer_id']: [c['promo_id'] for c in found[:top_n]]\n"
             "             for p, found in zip(profiles, cands)}\n"
             "final = {c: list(g) for c, g in recs.groupby('customer_id')['promo_id']}\n"
             "final.update({c: [] for c in ids if c not in final})\n"
             "r_ret = reco.per_customer_recall(ids, retrieval, fitting, 5)\n"
             "r_fin = reco.per_customer_recall(ids, final, fitting, 5)\n"
             "ranked_ids = [c for c in llm_out if c in r_ret]\n"
             "mean = lambda values: sum(values) / len(values) if values else 0.0  # noqa: E731\n"
             "manifest = json.loads(res.datalake.get_text(\n"
             "    ingest.MANIFEST.format(stream=params.stream, name='promotions')))\n"
             "m = {'stream': params.stream, 'run_id': params.run_id, 'data_dt': params.data_dt,\n"
             "     'customers': len(profiles), 'promotions': len(promos),\n"
             "     'evaluated_customers': len(r_ret),\n"
             "     'retrieval_recall_at_5': mean(list(r_ret.values())),\n"
             "     'final_recall_at_5': mean(list(r_fin.values())),\n"
             "     'llm_ranked_retrieval_recall_at_5': mean([r_ret[c] for c in ranked_ids]),\n"
             "     'llm_ranked_final_recall_at_5': mean([r_fin[c] for c in ranked_ids]),\n"
             "     'llm_attempts': len(llm_out), 'llm_valid': valid,\n"
             "     'llm_valid_share': valid / len(llm_out) if llm_out else 0.0,\n"
             "     'llm_model': params.gen_model,\n"
             "     'llm_retries': getattr(res.llm, 'retries', None),\n"
             "     'llm_seconds': round(sum(o['seconds'] or 0 for o in llm_out.values()), 1),\n"
             "     'collection': params.collection,\n"
             "     'collection_count': res.vectorstore.count(params.collection),\n"
             "     'expected_vectors': len(manifest['chunks']),\n"
             "     'distinct_chunk_ids': len({c['id'] for c in manifest['chunks']})}\n"
             "out = f'export/{params.stream}'\n"
             "res.datalake.put_df(f'{out}/recommendations.csv', recs)\n"
             "res.datalake.put_text(f'{out}/recommendations.json',\n"
             "                      recs.to_json(orient='records', indent=1))\n"
             "res.datalake.put_text(f'{out}/llm_outputs.json',\n"
             "                      json.dumps(list(llm_out.values()), indent=1))\n"
             "metrics.write(res.datalake, params.stream, m)\n"
             "nb.report(source_row=len(profiles), target_row=len(recs),\n"
             "          retrieval_recall_at_5=m['retrieval_recall_at_5'],\n"
             "          llm_valid_share=m['llm_valid_share'],\n"
             "          recommendations=res.datalake.url(f'{out}/recommendations.csv'))\n"
             "nb.result({'recommendations': recs, 'metrics': m, 'recall_by_customer': r_ret})\n"
             "m", []),
]

REPORT = [
    ("md", "# Recommendation report\nWrites `export/<stream>/report.html`: headline figures, "
           "a bar chart of recommendations by category, recall@5 by segment, and the "
           "LLM-ranked customers' picks with their reasons.", []),
    ("code", HEAD, []),
    ("code", "PARAMS", ["parameters"]),
    ("code", _resources(["datalake"]), []),
    ("code", "from llm_assets.demo import report\n\n"
             "ranked = handrun.upstream(res.datalake, 'promo_reco_rank', promo_reco_rank)\n"
             "recs, m = ranked['recommendations'], ranked['metrics']\n"
             "by_category = [(c.replace('_', ' '), float(n)) for c, n in\n"
             "               recs.groupby('category').size().sort_values(ascending=False)"
             ".items()]\n"
             "segments = recs.drop_duplicates('customer_id').set_index('customer_id')['segment']\n"
             "recall = {}\n"
             "for customer, value in ranked['recall_by_customer'].items():\n"
             "    recall.setdefault(segments[customer].replace('_', ' '), []).append(value)\n"
             "by_segment = sorted(((s, sum(v) / len(v)) for s, v in recall.items()),\n"
             "                    key=lambda item: -item[1])\n"
             "html = report.html_report(recs, m, by_category, by_segment,\n"
             "                          'Promotion recommendations for card customers')\n"
             "key = f'export/{params.stream}/report.html'\n"
             "res.datalake.put_text(key, html)\n"
             "nb.report(source_row=len(recs), target_row=1, report=res.datalake.url(key))\n"
             "nb.result({'report': key})\nres.datalake.url(key)", []),
]

UPSTREAM_NONE = "{} = None  # by hand: loaded from the last run below"
NOTEBOOKS = {
    "doc_qa/land_sources.ipynb": (LAND, _params("doc_qa_land_sources", stream="doc_qa")),
    "doc_qa/ingest.ipynb": (DOC_INGEST, _params(
        "doc_qa_ingest_pdf", stream="doc_qa", collection="doc_qa_chunks",
        embed_model="all-minilm", sys_file={"sys_nm": "doc_qa_pdf", "file_type": "pdf",
                                            "dlm": None, "chunk_size": 700, "overlap": 160})),
    "doc_qa/answer.ipynb": (DOC_ANSWER, _params(
        "doc_qa_answer", stream="doc_qa", collection="doc_qa_chunks", embed_model="all-minilm",
        gen_model="qwen2.5:0.5b", nb_kwargs={"top_k": "5", "search": "hybrid"},
        question="How many days do I have to dispute a card transaction?")),
    "promo_reco/land_sources.ipynb": (LAND, _params("promo_reco_land_sources",
                                                    stream="promo_reco")),
    "promo_reco/ingest_promotions.ipynb": (PROMO_INGEST, _params(
        "promo_reco_ingest_promotions", stream="promo_reco", collection="promo_reco_promotions",
        embed_model="all-minilm", nb_kwargs={"file": "promotions.csv"},
        sys_file={"sys_nm": "promo_reco_csv", "file_type": "csv", "dlm": ",",
                  "chunk_size": 1000, "overlap": 0})),
    "promo_reco/ingest_table.ipynb": (TABLE_INGEST, _params(
        "promo_reco_ingest_customers", stream="promo_reco",
        nb_kwargs={"file": "customers.csv", "key": "customer_id"},
        sys_file={"sys_nm": "promo_reco_csv", "file_type": "csv", "dlm": ",",
                  "chunk_size": 1000, "overlap": 0})),
    "promo_reco/build_profiles.ipynb": (PROFILES, _params(
        "promo_reco_profiles", "\n".join(UPSTREAM_NONE.format(n) for n in (
            "promo_reco_ingest_customers", "promo_reco_ingest_transactions")),
        stream="promo_reco")),
    "promo_reco/rank.ipynb": (RANK, _params(
        "promo_reco_rank", "\n".join(UPSTREAM_NONE.format(n) for n in (
            "promo_reco_profiles", "promo_reco_ingest_promotions")),
        stream="promo_reco", collection="promo_reco_promotions", embed_model="all-minilm",
        gen_model="qwen2.5:0.5b", nb_kwargs={"rank_customers": "3"})),
    "promo_reco/report.ipynb": (REPORT, _params(
        "promo_reco_report", UPSTREAM_NONE.format("promo_reco_rank"), stream="promo_reco")),
}


def _make_notebook():
    path = config.project_dir() / "scripts" / "make_notebook.py"
    spec = importlib.util.spec_from_file_location("llm_assets_make_notebook", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_notebook


def write_all(root: Path | None = None) -> list[Path]:
    """(Re)write every demo notebook under `root` (default: the project's notebooks/)."""
    make = _make_notebook()
    root = root or config.notebooks_dir()
    written = []
    for rel, (cells, params) in NOTEBOOKS.items():
        path = root / rel
        make(path, [(kind, params if src == "PARAMS" else src, tags)
                    for kind, src, tags in cells])
        written.append(path)
    return written


if __name__ == "__main__":
    for written in write_all():
        print(written)  # noqa: T201
