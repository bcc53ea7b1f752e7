"""DEV ONLY: llm_assets.definitions with the AI resources and checks wired in."""
import dagster as dg
import llm_assets.factory.assets as fa
import llm_assets.factory.build as fb
import llm_assets.resources.profile as prof
from llm_assets import config

_orig = prof.resources_for_profile
def patched(profile=None):
    from llm_assets.resources.embeddings import LocalEmbeddings
    from llm_assets.resources.llm import LocalLLM
    from llm_assets.resources.vectorstore import PgVectorStore
    r = _orig(profile)
    r.update(embeddings=LocalEmbeddings(), llm=LocalLLM(), vectorstore=PgVectorStore(url=config.database_url()))
    return r
prof.resources_for_profile = patched

def _pa(*a, **kw):
    kw["resource_keys"] = frozenset({"datalake", "embeddings", "llm", "vectorstore"})
    return fa.process_asset(*a, **kw)
fb.process_asset = _pa

_build = fb.build_definitions
def build_definitions(snapshot, **kw):
    from llm_assets.checks import stream_checks
    d = _build(snapshot, **kw)
    return dg.Definitions.merge(d, dg.Definitions(asset_checks=stream_checks(snapshot)))
fb.build_definitions = build_definitions

@dg.definitions
def defs():
    return fb.load_definitions()
