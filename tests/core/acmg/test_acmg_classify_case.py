"""``raredesk classify --case NAME --variant KEY`` on a real workspace."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from raredesk.acmg import commands, review

REPO = Path(__file__).resolve().parents[3]


def run(argv, capsys):
    parser = argparse.ArgumentParser(prog="raredesk")
    commands.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code = args.func(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_json_lists_every_suggestion_with_its_reason(ws_path, capsys):
    code, out, err = run(["classify", "--case", "trio", "--variant", "chr13-21750538-G-A", "--workspace",
                          str(ws_path)], capsys)
    assert (code, err) == (0, "") and out.count("\n") == 1
    obj = json.loads(out)
    assert (obj["vkey"], obj["gene"], obj["build"]) == ("13:21750538:G:A", "SKA3", "GRCh37")
    assert [s["code"] for s in obj["suggestions"]][:3] == ["PVS1", "PS1", "PS2"] and len(obj["suggestions"]) == 28
    assert obj["suggested"] == ["PVS1", "BA1"]
    assert obj["classification"]["default"] == "Benign" and obj["classification"]["points"] == 8
    pvs1 = obj["suggestions"][0]
    assert pvs1["status"] == "met" and "NMD predicted" in pvs1["reason"] and pvs1["caveats"]
    assert obj["current"] is None and obj["knowledge"]["seen_in_cases"] == 2


def test_text_shows_the_current_classification(ws, ws_path, capsys):
    cid = review.start_classification(ws, "trio", "11:67765162:A:AC", "ana").classification_id
    review.accept(ws, cid, "PVS1", "ana")
    ws.close()
    code, out, _ = run(["classify", "--case", "trio", "--variant", "11:67765162:A:AC", "--format", "text",
                        "--workspace", str(ws_path)], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("case trio  variant 11:67765162:A:AC  UNC93B1 ENST00000227471")
    assert lines[1].startswith("suggested: PVS1, PM2_Supporting -> Likely pathogenic")
    assert any(line.startswith("  [met] PVS1: ") for line in lines)
    assert any(line.startswith("  [manual] PS3: ") for line in lines)
    assert f"current classification: #{cid} draft, started by ana; final: not set; applied: PVS1 -> " \
           f"Likely pathogenic; undecided: PM2" in out


def test_unknown_case_variant_or_workspace_give_one_error_line(ws_path, tmp_path, capsys):
    for argv, fragment in (
            (["--case", "nope", "--variant", "1:1:A:G", "--workspace", str(ws_path)], "no case named 'nope'"),
            (["--case", "trio", "--variant", "1:1:A:G", "--workspace", str(ws_path)], "has no variant 1:1:A:G"),
            (["--case", "trio", "--variant", "BRCA1:c.68del", "--workspace", str(ws_path)], "not chrom:pos:ref:alt"),
            (["--case", "trio", "--variant", "1:1:A:G", "--workspace", str(tmp_path / "none")],
             "no RareDesk workspace here")):
        code, out, err = run(["classify", *argv], capsys)
        assert code == 2 and out == "" and err.startswith("error: ") and fragment in err and err.count("\n") == 1


def test_main_program_runs_classify_case(ws_path):
    done = subprocess.run([sys.executable, "-m", "raredesk", "classify", "--case", "revel", "--variant",
                           "1-986732-G-A", "--workspace", str(ws_path), "--format", "json"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    obj = json.loads(done.stdout)
    assert obj["gene"] == "AGRN" and "BP4_Moderate" in obj["suggested"]


def test_acmg_modules_import_no_qt():
    code = ("import sys, raredesk.acmg.evidence, raredesk.acmg.review, raredesk.acmg.knowledge, raredesk.acmg.audit; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'PyQt5', 'PyQt6', 'pyqtgraph', "
            "'shiboken6') or m == 'raredesk.gui'))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
