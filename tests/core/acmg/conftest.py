"""Workspaces built once per session from the real files in ../shared/data, copied per test.

Cases in the template:

``trio``     scout/643594.clinical.vcf.gz + 643594.ped (VEP with CADD/SIFT/PolyPhen/LOFTEE,
             ExAC/1000G INFO frequencies, SnpEff); father ADM1059A1, proband ADM1059A2, mother ADM1059A3
``solo``     the proband's column of the same VCF (bcftools view -s ADM1059A2), a second case
             holding the same variants (re-analysis)
``revel``    scout/vep97_annotated_clnsig_conservation_revel.vcf (one AGRN record: gnomAD AF/popmax,
             REVEL rank score, ClinVar)
``clinvar``  slivar/clinvar_20191007.vcf.gz imported as a sites-only case
``gno``      vcfanno/gno.vcf.gz (a gnomAD subset) imported as a case
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from raredesk.store.importer import import_vcf
from raredesk.store.workspace import Workspace

TRIO = "scout/643594.clinical.vcf.gz"


def bcftools(*args: str) -> str:
    return subprocess.run(["bcftools", *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="session")
def template_ws(data_dir, tmp_path_factory):
    if shutil.which("bcftools") is None:
        pytest.skip("bcftools is not installed")
    root = tmp_path_factory.mktemp("acmg_template")
    solo = root / "solo.vcf.gz"
    subprocess.run(["bcftools", "view", "-s", "ADM1059A2", "-Oz", "-o", str(solo), str(data_dir / TRIO)],
                   check=True, capture_output=True)
    path = root / "ws"
    ws = Workspace(path)
    import_vcf(ws, data_dir / TRIO, "trio", ped=str(data_dir / "scout/643594.ped"))
    import_vcf(ws, solo, "solo", proband="ADM1059A2")
    import_vcf(ws, data_dir / "scout/vep97_annotated_clnsig_conservation_revel.vcf", "revel")
    import_vcf(ws, data_dir / "slivar/clinvar_20191007.vcf.gz", "clinvar")
    import_vcf(ws, data_dir / "vcfanno/gno.vcf.gz", "gno")
    ws.close()
    return path


@pytest.fixture
def ws_path(template_ws, tmp_path):
    """A private copy of the template workspace folder."""
    dest = tmp_path / "ws"
    shutil.copytree(template_ws, dest)
    return dest


@pytest.fixture
def ws(ws_path):
    w = Workspace(ws_path, create=False)
    yield w
    w.close()
