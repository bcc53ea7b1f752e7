"""Interim code location for the demo e2e test while the AI resources are not yet wired
into `llm_assets.definitions`: the project's definitions plus the `embeddings`, `llm` and
`vectorstore` resources (local profile), given to every process, and the demo asset checks.

Used only when `resources_for_profile()` lacks those keys; delete once they are wired.
"""

import dagster as dg

import llm_assets.factory.assets as factory_assets
import llm_assets.factory.build as factory_build
import llm_assets.resources.profile as profile
from llm_assets import config

AI_KEYS = frozenset({"datalake", "embeddings", "llm", "vectorstore"})
_resources = profile.resources_for_profile
_build = factory_build.build_definitions


def _with_ai(name=None):
    from llm_assets.resources.embeddings import LocalEmbeddings
    from llm_assets.resources.llm import LocalLLM
    from llm_assets.resources.vectorstore import PgVectorStore

    found = _resources(name)
    found.update(embeddings=LocalEmbeddings(), llm=LocalLLM(),
                 vectorstore=PgVectorStore(url=config.database_url()))
    return found


def _asset(*args, **kwargs):
    kwargs["resource_keys"] = AI_KEYS
    return factory_assets.process_asset(*args, **kwargs)


def _definitions(snapshot, **kwargs):
    from llm_assets.checks import stream_checks

    built = _build(snapshot, **kwargs)
    return dg.Definitions.merge(built, dg.Definitions(asset_checks=stream_checks(snapshot)))


profile.resources_for_profile = _with_ai
factory_build.process_asset = _asset
factory_build.build_definitions = _definitions


@dg.definitions
def defs():
    return factory_build.load_definitions()
