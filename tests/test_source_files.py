"""Bad source files: each gives an error naming the file and the fix, through the same code
the ingestion notebooks call (`llm_assets_demo.ingest`, `llm_assets.core.chunking`) on a real
data lake directory; nothing is written to the collection or the manifest."""

from __future__ import annotations

import resource

import pytest

from llm_assets.backends.datalake import LocalDataLake
from llm_assets.core.chunking import chunk_bytes
from llm_assets.core.errors import ConfigError
from llm_assets_demo.ingest import MANIFEST, ingest_documents, read_table
from llm_assets_demo.pdf import write_pdf

pytestmark = pytest.mark.unit

SYS_CSV = {"sys_nm": "fees", "file_type": "csv", "dlm": ",", "chunk_size": 400, "overlap": 0}


def _chunk(data: bytes, file_type: str, doc: str = "raw/s/x/doc", dlm: str | None = None):
    return chunk_bytes(data, doc=doc, file_type=file_type, chunk_size=400, overlap=0, dlm=dlm)


@pytest.mark.parametrize("data", [b"", b"  \n\n \t"])
def test_empty_file_is_named(data):
    with pytest.raises(ConfigError, match=r"document 'raw/s/x/doc' is empty \(\d+ bytes\): "
                                          "land the complete file again"):
        _chunk(data, "txt")


def test_corrupt_pdf_is_named():
    good = write_pdf("Fees", [("heading", "Card fees"), ("body", "The fee is USD 5.")])
    assert _chunk(good, "pdf")  # the real PDF reads
    with pytest.raises(ConfigError, match="document 'raw/s/x/doc' is not a readable PDF"):
        _chunk(good[: len(good) // 3], "pdf")  # truncated: no xref, no trailer
    with pytest.raises(ConfigError, match="is not a readable PDF"):
        _chunk(b"%PDF-1.4\nthis is not a pdf body", "pdf")


def test_wrong_delimiter_is_named_with_the_right_one():
    data = b"fee_code;product;amount\nFX;Gold;2%\nRPL;Gold;USD 5\n"
    assert _chunk(data, "csv", dlm=";")  # with its real delimiter it reads
    with pytest.raises(ConfigError, match=r"has no ',' in its header line but 2 ';': set "
                                          r"cntl_cfg_sys_file.dlm to ';'"):
        _chunk(data, "csv", dlm=",")


def test_wrong_encoding_names_offset_line_and_fix():
    data = "fee_code,product\nFX,Gold\nRPL,Caf\u00e9 card\n".encode("latin-1")
    with pytest.raises(ConfigError) as err:
        _chunk(data, "csv", dlm=",")
    message = str(err.value)
    assert "document 'raw/s/x/doc' is not UTF-8 text: byte 0xe9" in message
    assert "(line 3)" in message and "save the file as UTF-8" in message


def test_table_with_wrong_delimiter_names_columns_and_delimiter(tmp_path):
    lake = LocalDataLake(root=str(tmp_path))
    lake.put_bytes("raw/promo/promotions.csv", b"promo_id;title\nP1;Ten percent\n")
    with pytest.raises(ConfigError, match=r"table raw/promo/promotions.csv lacks columns "
                                          r"\['promo_id', 'title'\].*delimiter ','"):
        read_table(lake, "raw/promo/promotions.csv", {"dlm": ","}, ["promo_id", "title"])


class _NoStore:
    """Stands in for the embedding and vector services: ingestion must fail before them."""

    def __getattr__(self, name):
        raise AssertionError(f"{name} called: ingestion should have stopped before")


def test_file_far_larger_than_memory_friendly_fails_before_reading(tmp_path, monkeypatch):
    lake = LocalDataLake(root=str(tmp_path))
    lake.put_bytes("raw/docs/txt/small.txt", b"A small, fine document.\n")
    huge = tmp_path / "raw" / "docs" / "txt" / "huge.txt"
    with open(huge, "wb") as handle:  # 4 GiB, sparse: nothing is written to disk
        handle.truncate(4 * 2**30)
    monkeypatch.setenv("LLM_ASSETS_MAX_SOURCE_MB", "256")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ConfigError) as err:
        ingest_documents(lake, _NoStore(), _NoStore(), stream="docs",
                         sys_file={**SYS_CSV, "file_type": "txt"}, collection="c",
                         embed_model=None)
    grew_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    message = str(err.value)
    assert "document raw/docs/txt/huge.txt is 4,096 MiB, above the 256 MiB limit" in message
    assert "LLM_ASSETS_MAX_SOURCE_MB" in message and "split it" in message
    assert grew_mb < 100  # the file was never read
    assert not lake.exists(MANIFEST.format(stream="docs", name="fees"))  # nothing written


def test_unparsable_source_size_limit_is_named(monkeypatch):
    from llm_assets_demo.ingest import max_source_bytes

    monkeypatch.setenv("LLM_ASSETS_MAX_SOURCE_MB", "lots")
    with pytest.raises(ConfigError, match="LLM_ASSETS_MAX_SOURCE_MB='lots' is not a number"):
        max_source_bytes()


@pytest.mark.parametrize("data, text", [
    (b"", r"table raw/promo/customers.csv is empty \(0 bytes\): land the complete file again"),
    ("customer_id,name\nC1,Andr\u00e9\n".encode("latin-1"),
     r"document 'raw/promo/customers.csv' is not UTF-8 text: byte 0xe9 at offset 24 \(line 2\)"
     r".*save the file as UTF-8"),
    (b"customer_id,name\nC1,Ana\nC2,Bo,Oslo,x\n",
     r"table raw/promo/customers.csv is not a valid CSV with delimiter ',': Expected 2 fields "
     r"in line 3, saw 4; fix that line of the file \(or the delimiter of its sys file\)"),
    (b'customer_id,name\nC1,"Ana\nC2,Bo\n',
     r"table raw/promo/customers.csv is not a valid CSV with delimiter ',': EOF inside string"),
])
def test_bad_table_is_named_with_the_fix(tmp_path, data, text):
    """The table path of the promo_reco notebooks (ingest_table, ingest_promotions)."""
    lake = LocalDataLake(root=str(tmp_path))
    lake.put_bytes("raw/promo/customers.csv", data)
    with pytest.raises(ConfigError, match=text):
        read_table(lake, "raw/promo/customers.csv", {"dlm": ","}, ["customer_id"])


def test_good_table_still_reads_with_a_bom_and_its_delimiter(tmp_path):
    lake = LocalDataLake(root=str(tmp_path))
    lake.put_bytes("raw/promo/customers.csv", "\ufeffcustomer_id;name\nC1;Andr\u00e9\n".encode())
    frame = read_table(lake, "raw/promo/customers.csv", {"dlm": ";"}, ["customer_id"])
    assert frame.to_dict("records") == [{"customer_id": "C1", "name": "Andr\u00e9"}]


def test_table_far_larger_than_memory_friendly_fails_before_reading(tmp_path, monkeypatch):
    lake = LocalDataLake(root=str(tmp_path))
    huge = tmp_path / "raw" / "promo" / "transactions.csv"
    huge.parent.mkdir(parents=True)
    with open(huge, "wb") as handle:  # 4 GiB, sparse: nothing is written to disk
        handle.truncate(4 * 2**30)
    monkeypatch.setenv("LLM_ASSETS_MAX_SOURCE_MB", "256")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ConfigError, match=r"table raw/promo/transactions.csv is 4,096 MiB, "
                                          r"above the 256 MiB limit .*LLM_ASSETS_MAX_SOURCE_MB"):
        read_table(lake, "raw/promo/transactions.csv", {"dlm": ","}, ["txn_id"])
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024 < 100
