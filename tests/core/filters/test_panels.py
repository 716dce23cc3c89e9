"""Gene panels: gene lists, BED files, PanelApp exports; stored in the workspace and used in filters."""

from __future__ import annotations

import shutil

import pytest

from raredesk.cli import main as cli_main
from raredesk.errors import InputError, RareDeskError
from raredesk.filters import FilterError, compile_for_case
from raredesk.filters.panels import (assign_panel, case_panels, delete_panel, import_panel, list_panels, panel_genes,
                                     resolve_panel, unassign_panel)
from raredesk.store.cases import get_case
from raredesk.store.workspace import Workspace

PANELAPP_HEADER = ("Entity Name\tEntity type\tGene Symbol\tSources(; separated)\tLevel4\tLevel3\tLevel2\t"
                   "Model_Of_Inheritance\tPhenotypes\tOmim\tOrphanet\tHPO\tPublications\tDescription\tFlagged\t"
                   "GEL_Status\tUserRatings_Green_amber_red\tversion\tready\tMode of pathogenicity\t"
                   "EnsemblId(GRch37)\tEnsemblId(GRch38)\tHGNC\tPosition Chromosome\tPosition GRCh37 Start\t"
                   "Position GRCh37 End\tPosition GRCh38 Start\tPosition GRCh38 End\tSTR Repeated Sequence\t"
                   "STR Normal Repeats\tSTR Pathogenic Repeats\tRegion Haploinsufficiency Score\t"
                   "Region Triplosensitivity Score\tRegion Required Overlap Percentage\tRegion Variant Type\t"
                   "Region Verbose Name")


def panelapp_row(name, etype, status, moi="BIALLELIC, autosomal or pseudoautosomal", hgnc="HGNC:1"):
    cols = [""] * 36
    cols[0], cols[1], cols[2] = name, etype, name if etype == "gene" else ""
    cols[3] = "Expert Review Green" if status == "3" else "Expert Review Red"
    cols[4] = "Test epilepsy panel"
    cols[7] = moi
    cols[15] = status
    cols[17] = "2.7"
    cols[22] = hgnc
    return "\t".join(cols)


def genes_in(con, case, text):
    where, params = compile_for_case(con, case, text, None)
    return con.execute(f'SELECT DISTINCT gene FROM "{case.table}" WHERE {where}', params).fetchall()


def ids(con, case, text):
    where, params = compile_for_case(con, case, text, None)
    return {r[0] for r in con.execute(f'SELECT variant_id FROM "{case.table}" WHERE {where}', params).fetchall()}


def test_gene_list_import_and_filter(ws, tmp_path):
    f = tmp_path / "epilepsy.txt"
    f.write_text("# my panel\nOR4F5\nor4f5\nFLG\tmore columns ignored\nNOTAGENE1\nHGNC:123\n\nFLG\nPER3, comma\n")
    res = import_panel(ws, f)
    assert res.name == "epilepsy" and res.kind == "genes"
    assert res.renamed == {"or4f5": "OR4F5"}
    assert res.invalid_symbols == ["HGNC:123"]
    assert res.unknown_symbols == ["NOTAGENE1"]            # in no case's annotation
    assert res.skipped == {"duplicate lines": 1, "duplicate symbols": 1}
    assert res.n_genes == 4 and res.checked
    con = ws.cursor()
    assert [g for g, _, _ in panel_genes(con, "epilepsy")] == ["FLG", "NOTAGENE1", "OR4F5", "PER3"]
    ashk = get_case(con, "ashk")
    rows = con.execute(f'SELECT variant_id, gene, genes FROM "{ashk.table}"').fetchall()
    panel = {"FLG", "NOTAGENE1", "OR4F5", "PER3"}
    assert ids(con, ashk, 'gene in panel "epilepsy"') == {r[0] for r in rows if r[1] in panel}
    assert ids(con, ashk, "genes in panel epilepsy") == {r[0] for r in rows if set(r[2] or []) & panel}
    assert ids(con, ashk, 'not gene in panel "Epilepsy"') == {r[0] for r in rows if r[1] not in panel}
    assert ids(con, ashk, 'gene in panel "epilepsy"')


def test_panelapp_export(ws, tmp_path):
    f = tmp_path / "panel.tsv"
    f.write_text("\n".join([PANELAPP_HEADER, panelapp_row("OR4F5", "gene", "3"),
                            panelapp_row("FLG", "gene", "4", moi="MONOALLELIC"), panelapp_row("PER3", "gene", "2"),
                            panelapp_row("TTN", "gene", "1"), panelapp_row("AR_CAG", "str", "3")]) + "\n")
    res = import_panel(ws, f)
    assert res.kind == "panelapp" and res.name == "Test epilepsy panel"
    assert res.n_genes == 2 and res.skipped == {"amber genes": 1, "red genes": 1, "str entities": 1}
    con = ws.cursor()
    assert panel_genes(con, "Test epilepsy panel") == [("FLG", "green", "MONOALLELIC"),
                                                        ("OR4F5", "green", "BIALLELIC, autosomal or pseudoautosomal")]
    assert resolve_panel(con, "test EPILEPSY panel").version == "2.7"
    res = import_panel(ws, f, "amber", min_confidence="amber")
    assert res.n_genes == 3
    with pytest.raises(InputError):
        import_panel(ws, f, "amber")                      # the name is taken
    res = import_panel(ws, f, "amber", min_confidence="red", replace=True)
    assert res.n_genes == 4 and len([p for p in list_panels(con) if p.name == "amber"]) == 1


def test_bed_panel(ws, tmp_path):
    f = tmp_path / "targets.bed"
    f.write_text("chr1\t69000\t70000\tOR4F5\n1\t1000000\t2000000\tx\n")
    res = import_panel(ws, f, build="GRCh37")
    assert res.kind == "bed" and res.n_regions == 2 and res.n_genes == 0
    con = ws.cursor()
    ashk = get_case(con, "ashk")
    rows = con.execute(f'SELECT variant_id, chrom, pos, ref FROM "{ashk.table}"').fetchall()

    def inside(r):
        end = r[2] + len(r[3]) - 1
        return r[1] == "1" and ((r[2] <= 70000 and end >= 69001) or (r[2] <= 2000000 and end >= 1000001))

    assert ids(con, ashk, 'in panel "targets"') == {r[0] for r in rows if inside(r)}
    with pytest.raises(FilterError) as ei:
        compile_for_case(con, ashk, 'gene in panel "targets"', None)
    assert "regions" in str(ei.value)


def test_case_panels(ws, tmp_path):
    f = tmp_path / "p.txt"
    f.write_text("OR4F5\n")
    import_panel(ws, f, "one")
    f.write_text("FLG\n")
    import_panel(ws, f, "two")
    con = ws.cursor()
    ashk = get_case(con, "ashk")
    with pytest.raises(FilterError):
        compile_for_case(con, ashk, "gene in case_panels", None)
    assign_panel(ws, "ashk", "one")
    assign_panel(ws, "ashk", "two")
    assign_panel(ws, "ashk", "two")                     # twice is once
    assert case_panels(con, ashk.case_id) == ["one", "two"]
    assert genes_in(con, ashk, "gene in case_panels") and {g for (g,) in genes_in(con, ashk, "gene in case_panels")} \
        == {"OR4F5", "FLG"}
    # replacing a panel keeps it assigned
    f.write_text("PER3\n")
    import_panel(ws, f, "two", replace=True)
    assert {g for (g,) in genes_in(con, ashk, "gene in case_panels")} == {"OR4F5", "PER3"}
    assert unassign_panel(ws, "ashk", "one")
    assert {g for (g,) in genes_in(con, ashk, "gene in case_panels")} == {"PER3"}
    delete_panel(ws, "two")
    with pytest.raises(FilterError):
        compile_for_case(con, ashk, "gene in case_panels", None)
    with pytest.raises(RareDeskError):
        assign_panel(ws, "ashk", "acmg_sf_v3.2")


def test_shipped_acmg_list(ro_ws):
    con = ro_ws.cursor()
    p = resolve_panel(con, "ACMG_SF_v3.2")
    assert p.builtin and p.n_genes == 81
    assert {"BRCA1", "BRCA2", "TTN", "TTR", "HFE", "RYR1", "CALM3", "BAG3"} <= p.genes
    scout = get_case(con, "scout")
    rows = con.execute(f'SELECT variant_id, gene FROM "{scout.table}"').fetchall()
    assert ids(con, scout, 'gene in panel "acmg_sf_v3.2"') == {r[0] for r in rows if r[1] in p.genes}
    with pytest.raises(RareDeskError):
        delete_panel(ro_ws, "acmg_sf_v3.2")


def test_unknown_panel_suggests(ro_ws):
    con = ro_ws.cursor()
    with pytest.raises(FilterError) as ei:
        compile_for_case(con, get_case(con, "scout"), 'gene in panel "acmg_sf_v3.1"', None)
    assert ei.value.suggestions == ["acmg_sf_v3.2"] and ei.value.position == 14


def test_bad_files(ws, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n\n")
    with pytest.raises(InputError):
        import_panel(ws, empty)
    with pytest.raises(InputError):
        import_panel(ws, tmp_path / "missing.txt")
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(InputError):
        import_panel(ws, binary)


def test_cli_panels(template_ws_dir, tmp_path, capsys):
    wdir = tmp_path / "ws"
    shutil.copytree(template_ws_dir, wdir)
    f = tmp_path / "cardio.txt"
    f.write_text("OR4F5\nNOTAGENE9\n")
    W = ["--workspace", str(wdir)]
    assert cli_main(["panels", "import", str(f)] + W) == 0
    out = capsys.readouterr()
    assert "panel 'cardio' (genes): 2 genes imported" in out.out and "NOTAGENE9" in out.err
    assert cli_main(["panels", "list"] + W) == 0
    assert "cardio\tgenes\t2" in capsys.readouterr().out
    assert cli_main(["panels", "assign", "--case", "ashk", "cardio"] + W) == 0
    capsys.readouterr()
    assert cli_main(["query", "--case", "ashk", "--filter", "gene in case_panels", "--count"] + W) == 0
    assert capsys.readouterr().out.strip() == "1"
    assert cli_main(["query", "--case", "ashk", "--filter", "gene in panel nope"] + W) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: filter, column 15: no panel named 'nope'") and err.count("\n") == 1
    with Workspace(wdir) as w:
        assert case_panels(w.cursor(), get_case(w.cursor(), "ashk").case_id) == ["cardio"]
