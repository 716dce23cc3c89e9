"""Shipped presets, user presets and saved filters."""

from __future__ import annotations

import pytest

from raredesk.errors import RareDeskError
from raredesk.filters import FilterError, compile_filter, compile_for_case
from raredesk.filters.panels import assign_panel, import_panel
from raredesk.filters.presets import (delete_preset, delete_saved_filter, get_preset, list_presets,
                                      list_saved_filters, save_filter, save_preset, shipped_presets)
from raredesk.store.cases import get_case

SHIPPED = {"rare-damaging-de-novo", "rare-recessive", "clinvar-plp-in-panel", "rare-lof", "secondary-findings"}
LOF = {"transcript_ablation", "splice_acceptor_variant", "splice_donor_variant", "stop_gained", "frameshift_variant",
       "start_lost", "stop_lost"}


def count(con, case, where, params):
    return con.execute(f'SELECT count(*) FROM "{case.table}" WHERE {where}', params).fetchone()[0]


def ids(con, case, where, params):
    return {r[0] for r in con.execute(f'SELECT variant_id FROM "{case.table}" WHERE {where}', params).fetchall()}


def test_shipped_presets_are_complete():
    presets = shipped_presets()
    assert set(presets) == SHIPPED
    for p in presets.values():
        assert p.builtin and p.title and p.description and p.filter.strip()
    assert presets["secondary-findings"].requires_consent
    assert presets["rare-damaging-de-novo"].settings["min_gq"] == 20


@pytest.fixture
def ready_ws(ws, tmp_path):
    """The workspace with a panel assigned to every case and consent for secondary findings."""
    f = tmp_path / "panel.txt"
    f.write_text("OR4F5\nPER3\nFLG\nTTN\n")
    import_panel(ws, f, "mixed")
    con = ws.cursor()
    for name in ("ashk", "scout", "ceph"):
        assign_panel(ws, name, "mixed")
    con.execute("UPDATE cases SET consent_secondary = TRUE")
    return ws


@pytest.mark.parametrize("case_name", ["ashk", "scout"])
@pytest.mark.parametrize("preset", sorted(SHIPPED))
def test_every_shipped_preset_runs_on_the_trios(ready_ws, case_name, preset):
    con = ready_ws.cursor()
    case = get_case(con, case_name)
    where, params = compile_for_case(con, case, None, preset)
    n = count(con, case, where, params)
    assert 0 <= n < case.n_variants
    # the preset equals its own text compiled as a filter with its settings
    p = get_preset(con, preset)
    cf = compile_filter(con, case, p.filter, settings=p.settings)
    assert ids(con, case, where, params) == ids(con, case, cf.where, cf.params)


def test_rare_lof_matches_python(ro_ws):
    con = ro_ws.cursor()
    case = get_case(con, "ashk")
    rows = con.execute(f'SELECT variant_id, consequence, s0_gt, gnomad_af, filter FROM "{case.table}"').fetchall()
    want = {r[0] for r in rows if set((r[1] or "").split("&")) & LOF and r[2] in (1, 2)
            and (r[3] is None or r[3] < 0.001) and r[4] in (None, "PASS")}
    where, params = compile_for_case(con, case, None, "rare-lof")
    assert ids(con, case, where, params) == want and want


def test_rare_recessive_is_recessive_and_damaging(ro_ws):
    con = ro_ws.cursor()
    case = get_case(con, "ashk")
    got = ids(con, case, *compile_for_case(con, case, None, "RARE_RECESSIVE"))
    modes = ids(con, case, *compile_for_case(con, case, "ar_hom or comp_het", None))
    damaging = ids(con, case, *compile_for_case(con, case, "impact in (HIGH, MODERATE) or spliceai_ds >= 0.2", None))
    assert got and got <= modes & damaging
    # compound hets whose partner is not damaging are left out
    assert got != modes & damaging


def test_preset_and_filter_are_one_conjunction(ro_ws):
    con = ro_ws.cursor()
    case = get_case(con, "ashk")
    both = ids(con, case, *compile_for_case(con, case, "impact = HIGH", "rare-recessive"))
    text = get_preset(con, "rare-recessive").filter
    joined = ids(con, case, *compile_for_case(con, case, f"({text}) and impact = HIGH", None))
    assert both == joined
    # comp_het sees the user's filter as context: a pair needs two HIGH variants
    separately = ids(con, case, *compile_for_case(con, case, None, "rare-recessive")) & \
        ids(con, case, *compile_for_case(con, case, "impact = HIGH", None))
    assert both <= separately


def test_consent_is_required_for_secondary_findings(ro_ws):
    con = ro_ws.cursor()
    with pytest.raises(FilterError) as ei:
        compile_for_case(con, get_case(con, "scout"), None, "secondary-findings")
    assert "consent" in str(ei.value)


def test_presets_need_what_they_name(ro_ws):
    con = ro_ws.cursor()
    with pytest.raises(FilterError) as ei:
        compile_for_case(con, get_case(con, "ashk"), None, "clinvar-plp-in-panel")
    assert "no gene panels assigned" in str(ei.value) and "preset clinvar-plp-in-panel" in str(ei.value)
    with pytest.raises(FilterError) as ei:
        compile_for_case(con, get_case(con, "ceph"), None, "rare-lof")
    assert "proband" in str(ei.value)


def test_unknown_preset_suggests(ro_ws):
    with pytest.raises(FilterError) as ei:
        compile_for_case(ro_ws.cursor(), get_case(ro_ws.cursor(), "ashk"), None, "rare-lofs")
    assert ei.value.suggestions[0] == "rare-lof"


def test_user_presets(ws):
    con = ws.cursor()
    case = get_case(con, "ashk")
    p = save_preset(ws, "Strict de novo", "de_novo", title="Strict", settings={"min_gq": 40, "min_dp": 15},
                    sort=["qual:desc"])
    assert not p.builtin and p.settings == {"min_gq": 40, "min_dp": 15} and p.sort == ["qual:desc"]
    assert "Strict de novo" in [x.name for x in list_presets(con)]
    got = ids(con, case, *compile_for_case(con, case, None, "strict_de_novo"))
    assert got == ids(con, case, *compile_for_case(con, case, "de_novo(min_gq=40, min_dp=15)", None))
    with pytest.raises(RareDeskError):
        save_preset(ws, "strict de novo", "ar_hom")               # taken (names ignore case)
    save_preset(ws, "strict de novo", "ar_hom", replace=True)
    assert get_preset(con, "Strict De Novo").filter == "ar_hom"
    with pytest.raises(RareDeskError):
        save_preset(ws, "rare_lof", "gene = X")                   # a shipped name
    with pytest.raises(FilterError):
        save_preset(ws, "broken", "gene = ")
    with pytest.raises(FilterError):
        save_preset(ws, "bad settings", "de_novo", settings={"min_qg": 3})
    with pytest.raises(RareDeskError):
        save_preset(ws, "x'; DROP TABLE cases; --", "gene = X")
    assert "broken" not in [x.name for x in list_presets(con)]
    delete_preset(ws, "strict de novo")
    with pytest.raises(FilterError):
        get_preset(con, "strict de novo")
    with pytest.raises(RareDeskError):
        delete_preset(ws, "rare-lof")


def test_saved_filters(ws):
    con = ws.cursor()
    case = get_case(con, "ashk")
    s = save_filter(ws, "my view", case_id=case.case_id, filter_text="impact = HIGH", sort=["gene"],
                    columns=["gene", "HG002.gt"])
    save_filter(ws, "everywhere", case_id=None, preset="rare-lof")
    save_filter(ws, "my view", case_id=case.case_id, filter_text="impact = MODERATE")   # overwrite
    names = {(f.name, f.filter) for f in list_saved_filters(con, case.case_id)}
    assert names == {("my view", "impact = MODERATE"), ("everywhere", None)}
    assert {f.name for f in list_saved_filters(con, get_case(con, "scout").case_id)} == {"everywhere"}
    with pytest.raises(FilterError):
        save_filter(ws, "bad", case_id=None, filter_text="impact = ")
    delete_saved_filter(ws, s.filter_id + 1)
    assert len(list_saved_filters(con, case.case_id)) >= 1


def test_cli_presets(template_ws_dir, tmp_path, capsys):
    import shutil

    from raredesk.cli import main as cli_main

    wdir = tmp_path / "ws"
    shutil.copytree(template_ws_dir, wdir)
    W = ["--workspace", str(wdir)]
    assert cli_main(["presets", "list"] + W) == 0
    assert "rare-recessive\tyes" in capsys.readouterr().out
    assert cli_main(["presets", "save", "mine", "--filter", "de_novo", "--set", "min_gq=30", "--sort", "qual:desc"]
                    + W) == 0
    capsys.readouterr()
    assert cli_main(["presets", "show", "mine"] + W) == 0
    out = capsys.readouterr().out
    assert "min_gq=30" in out and out.strip().endswith("de_novo")
    assert cli_main(["presets", "check", "--case", "ashk", "--preset", "mine"] + W) == 0
    assert capsys.readouterr().out.startswith("ok: ")
    assert cli_main(["presets", "check", "--case", "ashk", "--filter", "gene = A and (de_novo or "] + W) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[1].index("^") == 25 and err[2].startswith("error: filter, column 26:")
    assert cli_main(["query", "--case", "ashk", "--preset", "mine", "--count"] + W) == 0
    n = int(capsys.readouterr().out)
    assert cli_main(["query", "--case", "ashk", "--filter", "de_novo(min_gq=30)", "--count"] + W) == 0
    assert int(capsys.readouterr().out) == n
    assert cli_main(["presets", "delete", "mine"] + W) == 0
