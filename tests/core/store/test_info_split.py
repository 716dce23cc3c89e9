"""The vectorised INFO splitter against a plain Python split of the same text."""

from __future__ import annotations

import gzip

import pyarrow as pa
import pytest

from raredesk.store.info_split import locate


def python_split(info: str) -> dict[str, str]:
    """INFO text -> {key: value}; the first occurrence of a key wins; '' for flags;
    a pair with an empty key (``=5``) names nothing and is skipped."""
    out: dict[str, str] = {}
    for pair in info.split(";"):
        if pair:
            key, _, value = pair.partition("=")
            if key:
                out.setdefault(key, value)
    return out


def check(infos: list[str], chunks: int = 1) -> None:
    size = max(1, len(infos) // chunks)
    parts = [infos[i:i + size] for i in range(0, len(infos), size)] or [[]]
    column = pa.chunked_array([pa.array(p, type=pa.string()) for p in parts], type=pa.string())
    layout = locate(column)
    want = [python_split(s) for s in infos]
    keys = set().union(*want) if want else set()
    assert set(layout.keys) == keys
    for key in keys:
        values = layout.values(key).to_pylist()
        present = layout.present(key).to_pylist()
        assert values == [w[key] if w.get(key) else None for w in want], key
        assert present == [key in w for w in want], key
        # compact: only the records with a non-empty value, numbered from `first`
        table = layout.compact(key, 1000)
        rows = [i for i, w in enumerate(want) if w.get(key)]
        assert table.column("record_index").to_pylist() == [1000 + i for i in rows], key
        assert table.column("v").to_pylist() == [want[i][key] for i in rows], key
    empty = layout.compact("NO_SUCH_KEY", 0)
    assert empty.num_rows == 0 and empty.column_names == ["record_index", "v"]


def real_infos(path, limit: int = 4000) -> list[str]:
    out = []
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                continue
            out.append(line.rstrip("\n").split("\t")[7])
            if len(out) >= limit:
                break
    return out


@pytest.mark.parametrize("name", ["scout/643594.clinical.vcf.gz", "cyvcf2/test.snpeff.vcf",
                                  "scout/derived_reduced_mt.MT.calls.csq.vcf.gz"])
def test_real_info_columns_equal_python_split(data_dir, name):
    infos = real_infos(data_dir / name)
    assert len(infos) >= 10
    check(infos)
    check(infos, chunks=3)   # chunked like the reader's Arrow tables


def test_edge_cases():
    check(["AC=1;DB;X=", "", ".", "A=1;;B=2;", "K=v=w", "DP=3;DP=4", ";", "=5;Z=1"])


def test_unicode_values_and_keys():
    check(["AC=1;NM=é;ÄX=ü=2;Z=3", "B=日本;C=x", "NOTE=naïve café;AF=0.5"])


def test_long_keys_and_inline_boundaries():
    """Keys longer than the word-signature limit and values around the 12-byte
    inline limit of Arrow string views."""
    long_a, long_b = "K" * 60 + "A", "K" * 60 + "B"
    infos = [f"{long_a}=1;{long_b}=2;V12=123456789012;V13=1234567890123;V8=12345678;V9=123456789",
             f"{long_b}=3;V12=abcdefghijkl", "V13=abcdefghijklm;" + "X" * 47 + "=y;" + "X" * 48 + "=z"]
    check(infos)


def test_keys_sharing_long_prefixes_stay_apart():
    keys = ["GERP++_RS_prediction_term", "GERP++_RS_prediction_terX", "1000G_MAX_AF", "1000GAF",
            "A" * 40 + "1", "A" * 40 + "2"]
    infos = [";".join(f"{k}={i}{j}" for j, k in enumerate(keys)) for i in range(50)]
    check(infos)
