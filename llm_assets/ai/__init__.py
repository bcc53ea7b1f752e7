"""AI services for process notebooks: chunking, model names, and the shared concurrency pool.

The resources themselves (vector store, LLM, embeddings) live in `llm_assets.resources`.
"""

LLM_POOL = "llm"
"""Dagster concurrency pool for every process with a `gen_model` or `embed_model`.

Its limit is set in the Dagster instance (`dagster instance concurrency set llm <n>` or
`concurrency: pools: default_limit` in dagster.yaml), so concurrent processes queue for the
LLM and embedding backends instead of overloading them."""

__all__ = ["LLM_POOL"]
