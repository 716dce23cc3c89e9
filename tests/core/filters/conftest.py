"""Workspaces for the filter tests, built once per session from the real trios in ../shared/data.

``template_ws_dir`` imports the GIAB Ashkenazi trio (case ``ashk``), Scout's VEP trio (``scout``) and the
derived CEPH trio (``ceph``, a PED with nobody affected) into a closed workspace folder. ``ro_ws`` is one
shared, open copy for tests that only read; ``ws`` is a fresh copy per test for tests that write.
"""

from __future__ import annotations

import shutil

import pytest

from raredesk.store.importer import import_vcf
from raredesk.store.workspace import Workspace

TRIOS = {
    "ashk": ("slivar/ashk-trio.vcf.gz", "slivar/ashk-trio.ped"),
    "scout": ("scout/643594.clinical.vcf.gz", "scout/643594.ped"),
    "ceph": ("deeptrio/derived_trio.bcftools.20_10000000_10010000.vcf.gz", "deeptrio/derived_trio.ped"),
}


@pytest.fixture(scope="session")
def template_ws_dir(tmp_path_factory, data_dir):
    path = tmp_path_factory.mktemp("filters_template") / "ws"
    ws = Workspace(path)
    try:
        for name, (vcf, ped) in TRIOS.items():
            import_vcf(ws, data_dir / vcf, name, ped=str(data_dir / ped))
    finally:
        ws.close()
    return path


@pytest.fixture(scope="session")
def ro_ws(template_ws_dir, tmp_path_factory):
    dst = tmp_path_factory.mktemp("filters_ro") / "ws"
    shutil.copytree(template_ws_dir, dst)
    w = Workspace(dst)
    yield w
    w.close()


@pytest.fixture
def ws(template_ws_dir, tmp_path):
    dst = tmp_path / "ws"
    shutil.copytree(template_ws_dir, dst)
    w = Workspace(dst)
    yield w
    w.close()


@pytest.fixture(scope="session")
def con(ro_ws):
    return ro_ws.cursor()


@pytest.fixture(scope="session")
def indexed_ws(template_ws_dir, tmp_path_factory):
    """An open copy of the template whose cases all have their query index built."""
    from raredesk.store.cases import list_cases
    from raredesk.store.query_index import ensure_query_index

    dst = tmp_path_factory.mktemp("filters_indexed") / "ws"
    shutil.copytree(template_ws_dir, dst)
    w = Workspace(dst)
    con = w.cursor()
    for case in list_cases(con):
        assert ensure_query_index(con, case) is not None
    yield w
    w.close()
