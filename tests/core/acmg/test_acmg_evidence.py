"""Evidence rules: thresholds as data, each rule's branches, and real annotated records.

Expected values come from the papers (Pejaver 2022 Table 2, Bergquist 2025, Walker 2023,
Ghosh 2018, Abou Tayoun 2018 as summarised in /work/shared/ACMG.md) or from bcftools
reading the real files, never from the rule code itself.
"""

from __future__ import annotations

import copy
import json
import subprocess

import pytest

from raredesk.acmg import evidence as E
from raredesk.acmg.catalogue import ACMG_2015_CODES, default_catalogue
from raredesk.acmg.combine import classify
from raredesk.acmg.evidence import (ClinVarAssertion, GenotypeCall, OtherVariant, ParentageCheck,
                                    PopulationFrequency, TranscriptAnnotation, VariantEvidence)
from raredesk.errors import InputError, RareDeskError

TRIO = "scout/643594.clinical.vcf.gz"


def bcftools(*args: str) -> str:
    return subprocess.run(["bcftools", *args], capture_output=True, text=True, check=True).stdout


TH = E.default_thresholds()


# --- builders for hand-made evidence ---------------------------------------------------------------

def tx(consequence="missense_variant", *, gene="GENE1", transcript="ENST00000000001", hgvsp="ENSP1:p.Arg100Trp",
       hgvsc="ENST00000000001.1:c.298C>T", exon=(3, 10), intron=None, canonical=True, **kw) -> TranscriptAnnotation:
    return TranscriptAnnotation(source="VEP", gene=gene, transcript=transcript, biotype="protein_coding",
                                consequences=tuple(consequence.split("&")), hgvsc=hgvsc, hgvsp=hgvsp, exon=exon,
                                intron=intron, canonical=canonical, **kw)


def evidence(t: TranscriptAnnotation | None = None, **kw) -> VariantEvidence:
    t = t if t is not None else tx()
    base = dict(vkey="1:1000:C:T", chrom="1", pos=1000, ref="C", alt="T", build="GRCh37", picked=t,
                transcripts=[t], n_case_variants=100, n_chrom_variants=50)
    base.update(kw)
    return VariantEvidence(**base)


def by_code(ev, th=TH) -> dict:
    return {s.code: s for s in E.evaluate(ev, th)}


def call(sample, role, gt, *, sex="female", affected=False, dp=30, gq=99, ad=None, gt_raw=None, ps=None,
         phased=False) -> GenotypeCall:
    if ad is None:
        ad = {0: (30, 0), 1: (15, 15), 2: (0, 30), None: (None, None)}[gt]
    return GenotypeCall(sample, role, sex, affected, gt, gt_raw or {0: "0/0", 1: "0/1", 2: "1/1", None: "./."}[gt],
                        phased, ps, ad[0], ad[1], dp, gq)


def trio_calls(proband_gt=1, father_gt=0, mother_gt=0, *, proband_sex="female", **proband_kw):
    return [call("F", "father", father_gt, sex="male"), call("P", "proband", proband_gt, sex=proband_sex,
                                                              affected=True, **proband_kw),
            call("M", "mother", mother_gt)]


CLEAN_PARENTAGE = [ParentageCheck("F", 40, 0), ParentageCheck("M", 40, 0)]


# --- thresholds file -------------------------------------------------------------------------------

def test_packaged_thresholds_validate_and_cite_their_sources():
    data = TH.data
    for name, section in data.items():
        if isinstance(section, dict) and "sources" in section and name != "sources":
            for src in section["sources"]:
                assert src in data["sources"], (name, src)
    # Values from the papers, as printed (ACMG.md).
    assert data["BA1"]["af_above"] == 0.05 and data["BA1"]["min_alleles"] == 2000
    assert data["PM2"]["strength"] == "Supporting"
    assert data["SpliceAI"]["pp3_at_least"] == 0.2 and data["SpliceAI"]["bp4_at_most"] == 0.1
    genes = {(e["gene"], e.get("hgvsp") or e.get("hgvsc")) for e in data["BA1"]["exceptions"]}
    assert ("HFE", "p.Cys282Tyr") in genes and ("ACAD9", "c.-44_-41dupTAAG") in genes and len(genes) == 9


def _bad(mutate) -> str:
    raw = copy.deepcopy(dict(TH.data))
    raw = json.loads(json.dumps(raw))
    mutate(raw)
    with pytest.raises(InputError) as info:
        E.parse_thresholds(raw, "t.json")
    return str(info.value)


@pytest.mark.parametrize(("mutate", "fragment"), [
    (lambda d: d["PM2"].update(strength="Strong"), "PM2 cannot be applied at 'Strong'"),
    (lambda d: d["PM2"].update(af_at_most=0.02), "PM2.af_at_most must be below BS1.af_above"),
    (lambda d: d["BA1"].pop("min_alleles"), "BA1.min_alleles must be a number"),
    (lambda d: d["predictors"]["tools"]["revel"]["intervals"].append(
        {"code": "PP3", "band": "Supporting", "min": 0.9, "min_inclusive": True}), "intervals overlap"),
    (lambda d: d["predictors"]["tools"]["revel"]["intervals"][0].pop("strength"),
     "BP4 cannot be applied at 'VeryStrong'"),
    (lambda d: d["predictors"]["missense_order"].append("bayesdel"), "no entry in predictors.tools"),
    (lambda d: d["genes"].update(GENE1={"colour": "red"}), "unknown keys colour"),
    (lambda d: d["genes"].update(GENE1={"PM2": {"strength": "VeryStrong"}}), "PM2 cannot be applied"),
    (lambda d: d["BS1"].update(sources=["Nobody 2099"]), "not listed in 'sources'"),
    (lambda d: d.update(schema_version=9), "schema_version must be 1"),
])
def test_bad_thresholds_are_refused_with_the_reason(mutate, fragment):
    message = _bad(mutate)
    assert message.startswith("t.json: ACMG thresholds: ") and fragment in message


def test_thresholds_file_errors(tmp_path):
    bad = tmp_path / "t.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        E.load_thresholds(bad)
    with pytest.raises(InputError, match="cannot read"):
        E.load_thresholds(tmp_path / "absent.json")


def test_overrides_and_gene_sections():
    th = TH.with_overrides({"PM2": {"af_at_most": 0.00002}, "genes": {"MYH7": {"BS1": {"af_above": 0.001},
                                                                                "inheritance": "AD"}}})
    assert th.section("PM2")["af_at_most"] == 0.00002
    assert th.section("BS1", "MYH7")["af_above"] == 0.001 and th.section("BS1", "TTN")["af_above"] == 0.01
    assert th.inheritance("MYH7") == "AD" and th.inheritance("TTN") is None
    assert th.fingerprint() != TH.fingerprint()


# --- small parsers ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("ENSP00000368678.2:p.Asp1785Asn", ("Asp", 1785, "Asn", None, None)),
    ("p.Arg27*", ("Arg", 27, "Ter", None, None)),
    ("ENSP00000319417.5:p.Arg27Ter", ("Arg", 27, "Ter", None, None)),
    ("ENSP00000227471.2:p.Phe296CysfsTer41", ("Phe", 296, "fs", None, 41)),
    ("p.Phe296fs", ("Phe", 296, "fs", None, None)),
    ("ENSP00000389039.1:p.Glu270del", ("Glu", 270, "del", None, None)),
    ("ENSP00000347665.5:p.Pro1127_Pro1129del", ("Pro", 1127, "del", 1129, None)),
    ("p.(Arg100Gln)", ("Arg", 100, "Gln", None, None)),
    ("p.R100Q", ("Arg", 100, "Gln", None, None)),
])
def test_parse_protein_change(text, expected):
    pc = E.parse_protein_change(text)
    assert (pc.ref, pc.position, pc.alt, pc.end, pc.fs_ter) == expected


@pytest.mark.parametrize("text", [None, "", "ENST00000558518.1:c.81C>T(p.=)", "ENSP00000355031.2:p.MetLys997ArgGlu",
                                  "p.?"])
def test_parse_protein_change_refuses_what_is_not_one_residue(text):
    pc = E.parse_protein_change(text)
    assert pc is None or not pc.is_missense


@pytest.mark.parametrize(("text", "tier"), [
    ("Pathogenic", "P"), ("Likely pathogenic", "LP"), ("Pathogenic/Likely pathogenic", "LP"),
    ("Likely_pathogenic", "LP"), ("Benign, Likely benign", "LB"), ("Uncertain significance", "VUS"),
    ("Pathogenic, Benign", None), ("Conflicting interpretations of pathogenicity", None),
    ("Pathogenic, other", "P"), ("other", None), (None, None),
])
def test_significance_tier(text, tier):
    assert E.significance_tier(text) == tier


@pytest.mark.parametrize(("text", "key"), [
    ("chr1-949392-C-T", "1:949392:C:T"), ("1:949392:c:t", "1:949392:C:T"), ("chrM:15326:A:G", "MT:15326:A:G"),
    ("1:100:CTT:CT", "1:100:CT:C"), ("1:100:ACG:ATG", "1:101:C:T"), ("X_5_A_AT", "X:5:A:AT"),
])
def test_normalise_key_trims_like_the_importer(text, key):
    assert E.normalise_key(text) == key


def test_normalise_key_refuses_garbage():
    with pytest.raises(RareDeskError, match="not chrom:pos:ref:alt"):
        E.normalise_key("BRCA1 c.68_69del")


# --- PP3/BP4 calibrations (Pejaver 2022 Table 2; Bergquist 2025) -----------------------------------------

# (score, code or None, strength) written from the printed intervals, boundaries on both sides.
CALIBRATION = {
    "revel": [(0.0, "BP4", "Strong"), (0.003, "BP4", "Strong"), (0.0031, "BP4", "Strong"), (0.016, "BP4", "Strong"),
              (0.0161, "BP4", "Moderate"), (0.183, "BP4", "Moderate"), (0.1831, "BP4", "Supporting"),
              (0.290, "BP4", "Supporting"), (0.2901, None, None), (0.6439, None, None), (0.644, "PP3", "Supporting"),
              (0.7729, "PP3", "Supporting"), (0.773, "PP3", "Moderate"), (0.9319, "PP3", "Moderate"),
              (0.932, "PP3", "Strong"), (1.0, "PP3", "Strong")],
    "cadd_phred": [(0.15, "BP4", "Strong"), (0.16, "BP4", "Moderate"), (17.3, "BP4", "Moderate"),
                   (17.31, "BP4", "Supporting"), (22.7, "BP4", "Supporting"), (22.71, None, None),
                   (25.29, None, None), (25.3, "PP3", "Supporting"), (28.09, "PP3", "Supporting"),
                   (28.1, "PP3", "Moderate"), (45.0, "PP3", "Moderate")],
    "alphamissense": [(0.05, "BP4", "Moderate"), (0.099, "BP4", "Moderate"), (0.0991, "BP4", "Supporting"),
                      (0.169, "BP4", "Supporting"), (0.1691, None, None), (0.7919, None, None),
                      (0.792, "PP3", "Supporting"), (0.9059, "PP3", "Supporting"), (0.906, "PP3", "Moderate"),
                      (0.9899, "PP3", "Moderate"), (0.99, "PP3", "Strong")],
    "polyphen_score": [(0.009, "BP4", "Moderate"), (0.0091, "BP4", "Supporting"), (0.113, "BP4", "Supporting"),
                       (0.1131, None, None), (0.9779, None, None), (0.978, "PP3", "Supporting"),
                       (0.9989, "PP3", "Supporting"), (0.999, "PP3", "Moderate")],
    "sift_score": [(0.0, "PP3", "Moderate"), (0.0005, "PP3", "Supporting"), (0.001, "PP3", "Supporting"),
                   (0.0011, None, None), (0.0799, None, None), (0.080, "BP4", "Supporting"),
                   (0.3269, "BP4", "Supporting"), (0.327, "BP4", "Moderate"), (1.0, "BP4", "Moderate")],
}


@pytest.mark.parametrize(("tool", "score", "code", "strength"),
                         [(t, *row) for t, rows in CALIBRATION.items() for row in rows])
def test_missense_calibration_bands(tool, score, code, strength):
    out = by_code(evidence(scores={tool: score, "spliceai_ds": 0.0}))
    met = {c: s for c, s in out.items() if c in ("PP3", "BP4") and s.met}
    if code is None:
        assert not met
        assert "indeterminate" in out["PP3"].reason
    else:
        assert list(met) == [code] and met[code].strength == strength
        assert f"{score:g}" in met[code].reason


def test_revel_very_strong_band_is_capped_and_says_so():
    s = by_code(evidence(scores={"revel": 0.002, "spliceai_ds": 0.0}))["BP4"]
    assert s.strength == "Strong" and "VeryStrong band, capped at Strong" in s.reason


def test_one_predictor_chosen_in_advance_and_the_others_named():
    out = by_code(evidence(scores={"revel": 0.95, "cadd_phred": 10.0, "spliceai_ds": 0.0}))
    assert out["PP3"].label == "PP3_Strong" and out["PP3"].values["tool"] == "REVEL"
    assert "Not used" in out["PP3"].reason and "CADD (phred) 10" in out["PP3"].reason
    only_cadd = TH.with_overrides({"predictors": {"missense_order": ["cadd_phred"]}})
    assert by_code(evidence(scores={"revel": 0.95, "cadd_phred": 10.0}), only_cadd)["BP4"].label == "BP4_Moderate"


def test_rank_scores_are_never_used_and_are_named():
    ev = evidence(scores={}, uncalibrated={"REVEL_rankscore": 0.20571})
    out = by_code(ev)
    assert out["PP3"].status == E.MISSING and out["BP4"].status == E.MISSING
    assert "REVEL_rankscore 0.20571" in out["PP3"].reason and "not calibrated" in out["PP3"].reason


def test_benign_missense_needs_splicing_ruled_out():
    out = by_code(evidence(scores={"revel": 0.1, "spliceai_ds": 0.5}))
    assert out["PP3"].label == "PP3" and "splicing" in out["PP3"].reason and not out["BP4"].met
    out = by_code(evidence(scores={"revel": 0.1, "spliceai_ds": 0.15}))
    assert not out["PP3"].met and not out["BP4"].met and "does not rule out" in out["BP4"].reason
    out = by_code(evidence(scores={"revel": 0.1}))
    assert out["BP4"].label == "BP4_Moderate" and any("Splicing impact not assessed" in c for c in out["BP4"].caveats)


@pytest.mark.parametrize(("score", "pp3", "bp4", "bp7"), [
    (0.2, True, False, False), (0.9, True, False, False), (0.1, False, True, True), (0.0, False, True, True),
    (0.15, False, False, False),
])
def test_spliceai_for_deep_intronic_variants(score, pp3, bp4, bp7):
    t = tx("intron_variant", hgvsp=None, hgvsc="ENST1.1:c.100+50A>G", exon=None, intron=(3, 9))
    out = by_code(evidence(t, scores={"spliceai_ds": score}))
    assert (out["PP3"].met, out["BP4"].met, out["BP7"].met) == (pp3, bp4, bp7)


@pytest.mark.parametrize(("hgvsc", "eligible"), [
    ("c.100+6A>G", False), ("c.100+7A>G", True), ("c.101-20A>G", False), ("c.101-21A>G", True),
    ("c.101-200A>G", True),
])
def test_bp7_intronic_offsets(hgvsc, eligible):
    t = tx("intron_variant", hgvsp=None, hgvsc=f"ENST1.1:{hgvsc}", exon=None, intron=(3, 9))
    s = by_code(evidence(t, scores={"spliceai_ds": 0.01}))["BP7"]
    assert s.met == eligible
    if not eligible:
        assert "splice region" in s.reason


def test_bp7_synonymous_without_spliceai_is_missing_not_failed():
    t = tx("synonymous_variant", hgvsp="ENST1.1:c.81C>T(p.=)")
    s = by_code(evidence(t, scores={}, annotation_coverage={"spliceai_ds": 0}))["BP7"]
    assert s.status == E.MISSING and "no SpliceAI annotation" in s.reason
    assert by_code(evidence(t, scores={"spliceai_ds": 0.02}))["BP7"].met


def test_bp4_with_bp7_switch():
    t = tx("synonymous_variant", hgvsp=None)
    ev = evidence(t, scores={"spliceai_ds": 0.02})
    assert by_code(ev)["BP4"].met and by_code(ev)["BP7"].met
    off = TH.with_overrides({"SpliceAI": {"bp4_with_bp7": False}})
    assert not by_code(ev, off)["BP4"].met and by_code(ev, off)["BP7"].met


# --- PVS1 (Abou Tayoun 2018 tree) -------------------------------------------------------------------------

def test_pvs1_nonsense_upstream_of_penultimate_exon_is_very_strong():
    s = by_code(evidence(tx("stop_gained", hgvsp="p.Arg27Ter", exon=(1, 9), lof="HC")))["PVS1"]
    assert s.label == "PVS1" and "NMD predicted" in s.reason and "exon 1/9" in s.reason
    assert any("not recorded in RareDesk" in c for c in s.caveats)


@pytest.mark.parametrize(("position", "length", "label"), [(500, 1000, "PVS1_Strong"), (950, 1000, "PVS1_Moderate"),
                                                           (900, 1000, "PVS1_Strong")])
def test_pvs1_last_exon_strength_from_the_protein_removed(position, length, label):
    t = tx("stop_gained", hgvsp=f"p.Arg{position}Ter", exon=(10, 10), protein_position=position,
           protein_length=length)
    s = by_code(evidence(t))["PVS1"]
    assert s.label == label and "last exon" in s.reason and "of the protein removed" in s.reason


def test_pvs1_frameshift_counts_the_new_stop():
    t = tx("frameshift_variant", hgvsp="p.Phe880CysfsTer21", exon=(10, 10), protein_length=1000)
    s = by_code(evidence(t))["PVS1"]
    assert s.label == "PVS1_Strong" and "stop at residue 900 of 1000" in s.reason


def test_pvs1_last_exon_without_length_takes_the_weakest_branch():
    s = by_code(evidence(tx("stop_gained", hgvsp="p.Arg950Ter", exon=(10, 10))))["PVS1"]
    assert s.label == "PVS1_Moderate" and "weakest branch" in s.reason


def test_pvs1_loftee_position_when_no_protein_length():
    t = tx("stop_gained", hgvsp="p.Arg95Ter", exon=(10, 10), lof="HC", lof_info="POSITION:0.5")
    s = by_code(evidence(t))["PVS1"]
    assert s.label == "PVS1_Strong" and "LOFTEE POSITION 0.500" in s.reason


@pytest.mark.parametrize(("info", "label"), [("50_BP_RULE:PASS", "PVS1"), ("50_BP_RULE:FAIL", "PVS1_Strong"),
                                             (None, "PVS1_Strong")])
def test_pvs1_penultimate_exon_and_the_50_nt_rule(info, label):
    t = tx("stop_gained", hgvsp="p.Arg500Ter", exon=(9, 10), protein_length=1000, lof_info=info)
    s = by_code(evidence(t))["PVS1"]
    assert s.label == label and "penultimate exon 9/10" in s.reason
    if info is None:
        assert any("3'-most 50 nt" in c for c in s.caveats)


def test_pvs1_canonical_splice_names_the_skipped_exon_and_stays_moderate():
    t = tx("splice_donor_variant", hgvsp=None, exon=None, intron=(3, 9))
    s = by_code(evidence(t))["PVS1"]
    assert s.label == "PVS1_Moderate" and "exon 3/10 would be skipped" in s.reason
    assert any("shifts the frame" in c for c in s.caveats)


def test_pvs1_start_loss_is_supporting():
    s = by_code(evidence(tx("start_lost", hgvsp="p.Met1?", exon=(1, 10))))["PVS1"]
    assert s.label == "PVS1_Supporting" and any("alternative start" in c for c in s.caveats)


def test_pvs1_null_only_in_a_non_canonical_transcript_is_not_applicable():
    picked = tx("synonymous_variant", hgvsp=None)
    other = tx("stop_gained", transcript="ENST00000000002", canonical=False)
    s = by_code(evidence(picked, transcripts=[picked, other]))["PVS1"]
    assert not s.met and "ENST00000000002" in s.reason and "N/A" in s.reason


@pytest.mark.parametrize(("mechanism", "label"), [("established", "PVS1"), ("moderate", "PVS1_Strong"),
                                                  ("limited", "PVS1_Moderate"), ("none", None)])
def test_pvs1_lof_mechanism_gate_per_gene(mechanism, label):
    th = TH.with_overrides({"genes": {"GENE1": {"PVS1": {"lof_mechanism": mechanism}}}})
    s = by_code(evidence(tx("stop_gained", hgvsp="p.Arg27Ter", exon=(1, 9))), th)["PVS1"]
    assert s.label == label
    assert not any("not recorded in RareDesk" in c for c in s.caveats)


def test_no_annotation_means_missing_not_failed():
    out = by_code(evidence(None, picked=None, transcripts=[]))
    for code in ("PVS1", "PP3", "BP4", "PM4", "BP3", "BP7"):
        assert out[code].status == E.MISSING, code


# --- frequency rules -----------------------------------------------------------------------------------

def freq(pop, af, an=None, **kw):
    return PopulationFrequency("gnomAD", pop, af, an=an, **kw)


def test_ba1_needs_enough_alleles_and_respects_the_exception_list():
    common = [freq("nfe", 0.08, 60000)]
    assert by_code(evidence(frequencies=common))["BA1"].label == "BA1"
    small = by_code(evidence(frequencies=[freq("nfe", 0.08, 1500)]))["BA1"]
    assert not small.met and "fewer than 2,000 alleles" in small.reason
    unknown = by_code(evidence(frequencies=[freq("nfe", 0.08)]))["BA1"]
    assert unknown.met and any("allele number" in c for c in unknown.caveats)
    hfe = tx(gene="HFE", hgvsp="ENSP00000417404.1:p.Cys282Tyr", hgvsc="ENST00000357618.5:c.845G>A")
    s = by_code(evidence(hfe, frequencies=common))["BA1"]
    assert not s.met and "exception list" in s.reason


def test_founder_and_other_groups_do_not_count():
    out = by_code(evidence(frequencies=[freq("fin", 0.2, 20000), freq("nfe", 0.00001, 60000)]))
    assert not out["BA1"].met and not out["BS1"].met
    assert out["PM2"].label == "PM2_Supporting"


def test_bs1_and_pm2_thresholds_and_ba1_supersedes_bs1():
    assert by_code(evidence(frequencies=[freq("afr", 0.02, 9000)]))["BS1"].label == "BS1"
    out = by_code(evidence(frequencies=[freq("afr", 0.2, 9000)]))
    assert out["BA1"].met and not out["BS1"].met and "already counted by BA1" in out["BS1"].reason
    assert by_code(evidence(frequencies=[freq("afr", 0.0001, 9000)]))["PM2"].met
    assert not by_code(evidence(frequencies=[freq("afr", 0.00011, 9000)]))["PM2"].met


def test_pm2_absence_is_inferred_only_when_the_dataset_covers_the_chromosome():
    present = by_code(evidence(frequencies=[], frequency_coverage={"gnomAD": 40}))
    assert present["PM2"].met and "40 of 50 coding variants on chromosome 1" in present["PM2"].reason
    assert not present["BA1"].met and present["BA1"].status == E.NOT_MET
    none = by_code(evidence(frequencies=[], frequency_coverage={"gnomAD": 0}))
    assert none["PM2"].status == E.MISSING and "annotate --gnomad" in none["PM2"].reason
    assert none["BA1"].status == E.MISSING
    national = by_code(evidence(frequencies=[PopulationFrequency("SweGen", "national", 0.3)],
                                frequency_coverage={"ExAC": 10}))
    assert not national["PM2"].met and "SweGen national 0.3" in national["PM2"].reason


def test_bs2_from_population_homozygotes_and_from_family():
    out = by_code(evidence(frequencies=[freq("global", 0.01, homozygotes=3)]))
    assert out["BS2"].label == "BS2" and "3 homozygotes" in out["BS2"].reason
    assert not by_code(evidence(frequencies=[freq("global", 0.01, homozygotes=1)]))["BS2"].met
    fam = by_code(evidence(genotypes=trio_calls(1, 2, 0)))["BS2"]
    assert fam.met and "Unaffected father F is homozygous" in fam.reason
    het = by_code(evidence(genotypes=trio_calls(1, 1, 0)))["BS2"]
    assert not het.met and "dominant" in het.reason
    ad = TH.with_overrides({"genes": {"GENE1": {"inheritance": "AD"}}})
    assert by_code(evidence(genotypes=trio_calls(1, 1, 0)), ad)["BS2"].met
    male_x = by_code(evidence(chrom="X", pos=5_000_000, genotypes=trio_calls(1, 1, 0)))["BS2"]
    assert male_x.met and "hemizygous" in male_x.reason
    assert by_code(evidence())["BS2"].status == E.MISSING


# --- PS1/PM5/PM1 ---------------------------------------------------------------------------------------

def cv(vkey, change, sig="Pathogenic", stars=2, transcript="ENST00000000001.4", source="ClinVar test"):
    return ClinVarAssertion(vkey, "GENE1", sig, stars, source, ((transcript.split(".")[0], change),))


def test_ps1_same_amino_acid_change_from_another_nucleotide_change():
    ev = evidence(clinvar=[cv("1:1000:C:A", "p.Arg100Trp")], clinvar_loaded=True)
    out = by_code(ev)
    assert out["PS1"].label == "PS1" and "1:1000:C:A" in out["PS1"].reason and not out["PM5"].met
    # The variant itself is not its own comparator.
    assert not by_code(evidence(clinvar=[cv("1:1000:C:T", "p.Arg100Trp")], clinvar_loaded=True))["PS1"].met


def test_pm5_and_the_comparator_rules():
    lp = by_code(evidence(clinvar=[cv("1:1001:G:A", "p.Arg100Gln", "Likely pathogenic", 1)], clinvar_loaded=True))
    assert lp["PM5"].label == "PM5_Supporting" and not lp["PS1"].met
    p = by_code(evidence(clinvar=[cv("1:1001:G:A", "p.Arg100Gln")], clinvar_loaded=True))
    assert p["PM5"].label == "PM5"
    # A nonsense comparator never gives PM5 (AutoGVP #307).
    ter = by_code(evidence(clinvar=[cv("1:999:C:T", "p.Arg100Ter")], clinvar_loaded=True))
    assert not ter["PM5"].met
    # Too few review stars: not used, and said so.
    low = by_code(evidence(clinvar=[cv("1:1001:G:A", "p.Arg100Gln", stars=0)], clinvar_loaded=True))
    assert not low["PM5"].met and "fewer than 1 review star" in low["PM5"].reason
    # Other transcript: no comparison.
    other = by_code(evidence(clinvar=[cv("1:1001:G:A", "p.Arg100Gln", transcript="ENST00000000009.1")],
                             clinvar_loaded=True))
    assert not other["PM5"].met
    # Knowledge-base classification (no stars) counts.
    kb = ClinVarAssertion("1:1001:G:A", "GENE1", "Pathogenic", None, "RareDesk knowledge base",
                          (("ENST00000000001", "ENSP1:p.Arg100Gln"),))
    assert by_code(evidence(clinvar=[kb], clinvar_loaded=True))["PM5"].label == "PM5"


def test_ps1_pm5_missing_without_local_clinvar_and_without_protein_changes():
    out = by_code(evidence())
    assert out["PS1"].status == E.MISSING and "annotate --clinvar" in out["PS1"].reason
    bare = ClinVarAssertion("1:1001:G:A", "GENE1", "Pathogenic", 2, "ClinVar test", ())
    out = by_code(evidence(clinvar=[bare], clinvar_loaded=True))
    assert not out["PM5"].met and "no protein change in the workspace" in out["PM5"].reason


def test_pm1_hotspot_domain_and_the_pp3_cap():
    hot = [cv(f"1:{2000 + i}:G:A", f"p.Arg{98 + i}Gln") for i in range(4)]
    out = by_code(evidence(clinvar=hot, clinvar_loaded=True))
    assert out["PM1"].label == "PM1" and "hot spot" in out["PM1"].reason
    with_benign = hot + [cv("1:3000:G:A", "p.Ala102Val", "Benign")]
    assert not by_code(evidence(clinvar=with_benign, clinvar_loaded=True))["PM1"].met
    domain = tx(domains="Pfam_domain:PF00054&hmmpanther:PTHR10574")
    out = by_code(evidence(domain))
    assert out["PM1"].label == "PM1_Supporting" and "Pfam_domain:PF00054" in out["PM1"].reason
    assert "hmmpanther" not in out["PM1"].reason
    # Pejaver 2022: PP3 + PM1 at most Strong.
    capped = by_code(evidence(domain, scores={"revel": 0.95}))
    assert capped["PP3"].label == "PP3_Strong" and not capped["PM1"].met and "cap" in capped["PM1"].reason
    fine = by_code(evidence(domain, scores={"revel": 0.8}))
    assert fine["PP3"].label == "PP3_Moderate" and fine["PM1"].label == "PM1_Supporting"
    lowered = by_code(evidence(clinvar=hot, clinvar_loaded=True, scores={"revel": 0.8}))
    assert lowered["PM1"].label == "PM1" and lowered["PP3"].label == "PP3_Moderate"
    assert classify(["PP3_Moderate", "PM1"]).warnings == ()
    assert by_code(evidence(tx("synonymous_variant", hgvsp=None, domains="Pfam_domain:PF1")))["PM1"].reason \
        .startswith("PM1 is assessed for missense variants only")
    assert by_code(evidence())["PM1"].status == E.MISSING


# --- PS2/PM6, PM3/BP2, PP1/BS4 --------------------------------------------------------------------------

def test_confirmed_de_novo_gives_ps2_by_points():
    out = by_code(evidence(genotypes=trio_calls(), proband="P", parentage=CLEAN_PARENTAGE))
    assert out["PS2"].label == "PS2_Moderate" and not out["PM6"].met
    assert out["PS2"].values["points"] == 1.0 and "parentage confirmed" in out["PS2"].reason
    strong = by_code(evidence(genotypes=trio_calls(), proband="P", parentage=CLEAN_PARENTAGE,
                              phenotype_fit="highly_specific"))
    assert strong["PS2"].label == "PS2"


def test_assumed_de_novo_gives_pm6():
    few = [ParentageCheck("F", 5, 0), ParentageCheck("M", 5, 0)]
    out = by_code(evidence(genotypes=trio_calls(), proband="P", parentage=few))
    assert out["PM6"].label == "PM6_Supporting" and not out["PS2"].met
    assert "5 informative sites" in out["PM6"].reason
    stated = by_code(evidence(genotypes=trio_calls(), proband="P", parentage=CLEAN_PARENTAGE,
                              parentage_confirmed=False))
    assert stated["PM6"].label == "PM6_Supporting" and "reviewer" in stated["PM6"].reason
    nonspecific = by_code(evidence(genotypes=trio_calls(), proband="P", parentage=few, phenotype_fit="non_specific"))
    assert not nonspecific["PM6"].met and "below the Supporting threshold" in nonspecific["PM6"].reason
    bad = by_code(evidence(genotypes=trio_calls(), proband="P", parentage=[ParentageCheck("F", 40, 10),
                                                                           ParentageCheck("M", 40, 0)]))
    assert bad["PM6"].met and "10/40 opposite homozygotes" in bad["PM6"].reason


def test_de_novo_quality_inheritance_and_sex_chromosomes():
    inherited = by_code(evidence(genotypes=trio_calls(1, 0, 1), proband="P", parentage=CLEAN_PARENTAGE))
    assert not inherited["PS2"].met and "Inherited: the mother carries it" in inherited["PS2"].reason
    calls = trio_calls()
    calls[2] = call("M", "mother", 0, ad=(25, 3))
    mosaic = by_code(evidence(genotypes=calls, proband="P", parentage=CLEAN_PARENTAGE))
    assert not mosaic["PS2"].met and "3 ALT reads" in mosaic["PS2"].reason
    low = by_code(evidence(genotypes=trio_calls(gq=5), proband="P", parentage=CLEAN_PARENTAGE))
    assert not low["PS2"].met and "proband GQ 5 < 20" in low["PS2"].reason
    skewed = by_code(evidence(genotypes=trio_calls(ad=(28, 2)), proband="P", parentage=CLEAN_PARENTAGE))
    assert not skewed["PS2"].met and "allele balance 0.07" in skewed["PS2"].reason
    # X in a son: only the mother passes it on, so the father's genotype does not matter.
    son = trio_calls(2, 1, 0, proband_sex="male", ad=(0, 30))
    x = by_code(evidence(chrom="X", pos=5_000_000, genotypes=son, proband="P", parentage=CLEAN_PARENTAGE))
    assert x["PS2"].met and "absent from the mother" in x["PS2"].reason
    missing = by_code(evidence(genotypes=trio_calls()[1:], proband="P"))
    assert missing["PS2"].status == E.MISSING and "Father not genotyped" in missing["PS2"].reason
    assert by_code(evidence(genotypes=[], proband=None))["PS2"].status == E.MISSING


def other(vkey, classification, father_gt, mother_gt, *, proband=None):
    calls = trio_calls(1, father_gt, mother_gt) if proband is None else proband
    return OtherVariant(vkey, "p.Gly5Ser", tuple(calls), classification, "test")


def test_pm3_in_trans_from_parents_and_bp2_in_cis():
    query = trio_calls(1, 1, 0)          # from the father
    trans = by_code(evidence(genotypes=query, proband="P", other_variants=[other("1:5:G:A", "Pathogenic", 0, 1)]))
    assert trans["PM3"].label == "PM3" and "trans, from parental genotypes (father / mother)" in trans["PM3"].reason
    lp = by_code(evidence(genotypes=query, proband="P",
                          other_variants=[other("1:5:G:A", "Likely pathogenic", 0, 1)]))
    assert lp["PM3"].label == "PM3_Supporting"
    unknown = by_code(evidence(genotypes=trio_calls(1, 1, 1), proband="P",
                               other_variants=[other("1:5:G:A", "Likely pathogenic", 1, 1)]))
    assert not unknown["PM3"].met and "0.25" in unknown["PM3"].reason
    cis = by_code(evidence(genotypes=query, proband="P", other_variants=[other("1:5:G:A", "Pathogenic", 1, 0)]))
    assert cis["BP2"].met and "in cis" in cis["BP2"].reason and not cis["PM3"].met
    none = by_code(evidence(genotypes=query, proband="P", other_variants=[other("1:5:G:A", None, 0, 1)]))
    assert not none["PM3"].met and "none classified P/LP" in none["PM3"].reason


def test_pm3_from_vcf_phasing_and_homozygosity():
    a = trio_calls(1, None, None, gt_raw="0|1", phased=True, ps=77)[1:2]
    b = (call("P", "proband", 1, affected=True, gt_raw="1|0", phased=True, ps=77),)
    out = by_code(evidence(genotypes=list(a), proband="P",
                           other_variants=[OtherVariant("1:5:G:A", None, b, "Pathogenic", "test")]))
    assert out["PM3"].label == "PM3" and "phased in the VCF" in out["PM3"].reason
    hom = by_code(evidence(genotypes=trio_calls(2, 1, 1), proband="P"))
    assert hom["PM3"].label == "PM3_Supporting" and "homozygous" in hom["PM3"].reason
    common = by_code(evidence(genotypes=trio_calls(2, 1, 1), proband="P", frequencies=[freq("nfe", 0.3, 9000)]))
    assert not common["PM3"].met and "Too common for PM3" in common["PM3"].reason


def family(carriers_affected: int, non_carrier_affected: int = 0):
    calls = [call("P", "proband", 1, affected=True)]
    calls += [call(f"A{i}", "relative", 1, affected=True) for i in range(carriers_affected)]
    calls += [call(f"N{i}", "relative", 0, affected=True) for i in range(non_carrier_affected)]
    return calls


@pytest.mark.parametrize(("relatives", "label"), [(0, None), (1, None), (3, "PP1"), (5, "PP1_Moderate"),
                                                  (7, "PP1_Strong")])
def test_pp1_from_affected_carriers(relatives, label):
    s = by_code(evidence(genotypes=family(relatives), proband="P"))["PP1"]
    assert s.label == label


def test_bs4_and_reviewer_meioses():
    out = by_code(evidence(genotypes=family(2, 1), proband="P"))
    assert out["BS4"].label == "BS4" and "N0 lacks it" in out["BS4"].reason and not out["PP1"].met
    entered = by_code(evidence(genotypes=family(0), proband="P", segregation_meioses=5))
    assert entered["PP1"].label == "PP1_Moderate" and "entered by the reviewer" in entered["PP1"].reason
    no_status = [GenotypeCall("P", "proband", None, None, 1)]
    assert by_code(evidence(genotypes=no_status, proband="P"))["PP1"].status == E.MISSING


def test_every_criterion_gets_one_suggestion_and_manual_ones_say_why():
    out = E.evaluate(evidence())
    assert tuple(s.code for s in out) == ACMG_2015_CODES
    manual = {s.code for s in out if s.status == E.MANUAL}
    assert manual == {"PS3", "PS4", "PP2", "PP4", "PP5", "BS3", "BP1", "BP5", "BP6"} == set(E.MANUAL_CODES)
    assert all(s.reason for s in out)


# --- real annotated records ---------------------------------------------------------------------------------

@pytest.fixture
def cur(ws):
    return ws.cursor()


def test_vep_trio_stop_gained(cur, data_dir):
    # SKA3 c.79C>T p.Arg27Ter, exon 1/9 (VEP, LOFTEE HC); carried by the mother only.
    r = E.suggest_for_variant(cur, "trio", "13:21750538:G:A")
    pvs1 = r.get("PVS1")
    assert pvs1.label == "PVS1" and "exon 1/9" in pvs1.reason and "LOFTEE HC" in pvs1.reason
    popmax = bcftools("query", "-r", "13:21750538", "-f", "%INFO/EXACMAX_AF\n", str(data_dir / TRIO)).strip()
    ba1 = r.get("BA1")
    assert ba1.met and f"ExAC popmax allele frequency {float(popmax):.4g}" in ba1.reason
    gts = bcftools("query", "-r", "13:21750538", "-f", "[%SAMPLE=%GT ]\n", str(data_dir / TRIO)).split()
    assert "ADM1059A2=0/0" in gts
    assert "does not carry" in r.get("PS2").reason and "does not carry" in r.get("BS4").reason
    assert r.classification().default == "Benign" and set(r.labels) == {"PVS1", "BA1"}


def test_vep_trio_frameshift_and_splice(cur):
    fs = E.suggest_for_variant(cur, "trio", "11:67765162:A:AC").get("PVS1")
    assert fs.label == "PVS1" and "exon 8/12" in fs.reason and "41 codons downstream" in fs.reason
    assert any("LOFTEE calls this low confidence (NON_CAN_SPLICE_SURR)" in c for c in fs.caveats)
    splice = E.suggest_for_variant(cur, "trio", "chr17-73626918-C-CTG").get("PVS1")
    assert splice.label == "PVS1_Moderate" and "intron 11/19: exon 12/20 would be skipped" in splice.reason


def test_vep_trio_inframe_deletion(cur):
    r = E.suggest_for_variant(cur, "trio", "21:46924412:TGCCCGGCCC:T")
    assert r.get("PM4").label == "PM4" and "p.Pro1127_Pro1129del" in r.get("PM4").reason
    assert any("Repeat context is not annotated" in c for c in r.get("PM4").caveats)
    assert r.get("BP3").status == E.MISSING and "RepeatMasker" in r.get("BP3").reason
    assert r.get("PP3").status == E.MISSING and "SpliceAI" in r.get("PP3").reason


def test_vep_trio_missense_uses_cadd_and_absence_from_exac(cur, data_dir):
    r = E.suggest_for_variant(cur, "trio", "11:236313:A:C")       # SIRT3 p.Trp6Gly
    cadd = bcftools("query", "-r", "11:236313", "-f", "%INFO/CADD\n", str(data_dir / TRIO)).strip()
    assert r.get("BP4").label == "BP4_Moderate" and f"CADD (phred) {float(cadd):g}" in r.get("BP4").reason
    exac = bcftools("query", "-r", "11:236313", "-f", "%INFO/EXACAF\n", str(data_dir / TRIO)).strip()
    assert exac == "."
    assert r.get("PM2").label == "PM2_Supporting" and "ExAC" in r.get("PM2").reason
    # Absent from both parents, but the proband's call has GQ 0: no de novo suggestion, and the reason says why.
    assert not r.get("PM6").met and not r.get("PS2").met and "proband GQ 0 < 20" in r.get("PS2").reason


def test_vep_trio_parentage_check_matches_bcftools(cur, data_dir):
    ev = E.gather_evidence(cur, "trio", "11:236313:A:C")
    text = bcftools("query", "-i", 'CHROM!="X" && CHROM!="Y" && CHROM!="MT"', "-f", "[%GT:%DP:%GQ\t]\n",
                    str(data_dir / TRIO))
    counts = {"ADM1059A1": [0, 0], "ADM1059A3": [0, 0]}

    def code(gt):
        alleles = gt.replace("|", "/").split("/")
        if "." in alleles:
            return None
        ones = sum(a != "0" for a in alleles)
        return 0 if ones == 0 else 2 if ones == len(alleles) else 1

    for line in text.splitlines():
        f, p, m = (x.split(":") for x in line.rstrip("\t").split("\t"))
        for parent, name in ((f, "ADM1059A1"), (m, "ADM1059A3")):
            a, b = code(parent[0]), code(p[0])
            ok = a is not None and b is not None and all(
                x[1] not in (".", "") and int(x[1]) >= 10 and x[2] not in (".", "") and int(x[2]) >= 20
                for x in (parent, p))
            if ok and (a == 2 or b == 2):
                counts[name][0] += 1
                counts[name][1] += (a == 2 and b == 0) or (a == 0 and b == 2)
    got = {p.parent: [p.informative, p.inconsistent] for p in ev.parentage}
    assert got == counts and counts["ADM1059A1"][0] >= 20
    confirmed, how = E.parentage_confirmed(ev, TH)
    assert confirmed and "0/" in how


def test_real_de_novo_on_y_with_a_lowered_gq_threshold(cur):
    # USP9Y: proband 0/1 (GQ 99, AD 11,6), father 0/0 with GQ 7. At the default GQ 20 the father's call is not
    # trusted; a lab accepting GQ 5 gets PS2 (confirmed parentage, 1 point, Moderate). Only the father counts on Y.
    default = E.suggest_for_variant(cur, "trio", "Y:14898429:A:T").get("PS2")
    assert not default.met and "father GQ 7 < 20" in default.reason and "mother" not in default.reason
    lenient = TH.with_overrides({"genotype_quality": {"min_gq": 5}})
    r = E.suggest_for_variant(cur, "trio", "Y:14898429:A:T", lenient)
    assert r.get("PS2").label == "PS2_Moderate" and "absent from the father" in r.get("PS2").reason


def test_vep_trio_unaffected_homoplasmic_father_gives_bs2(cur):
    r = E.suggest_for_variant(cur, "trio", "MT:15326:A:G")
    assert r.get("BS2").met and "homoplasmic" in r.get("BS2").reason
    assert r.get("PS2").reason.startswith("Mitochondrial variant")
    # ExAC and 1000 Genomes have no MT values in this case: absence cannot be inferred.
    assert r.get("PM2").status == E.MISSING and "chromosome MT" in r.get("PM2").reason


def test_revel_gnomad_record(cur, data_dir):
    path = data_dir / "scout/vep97_annotated_clnsig_conservation_revel.vcf"
    popmax, cadd = bcftools("query", "-f", "%INFO/GNOMADAF_popmax\t%INFO/CADD\n", str(path)).split()
    r = E.suggest_for_variant(cur, "revel", "1:986732:G:A")
    assert r.gene == "AGRN" and r.hgvsp.endswith("p.Asp1785Asn")
    bs1 = r.get("BS1")
    assert bs1.label == "BS1" and f"gnomAD popmax {float(popmax):.4g}" in bs1.reason
    assert any("Whiffin 2017" in c for c in bs1.caveats)
    bp4 = r.get("BP4")
    assert bp4.label == "BP4_Moderate" and f"CADD (phred) {float(cadd):g}" in bp4.reason
    assert "REVEL_rankscore 0.20571" in bp4.reason and "not calibrated" in bp4.reason
    assert r.get("PM1").label == "PM1_Supporting" and "Pfam_domain:PF00054" in r.get("PM1").reason
    # No PED: the family rules say what is missing.
    assert r.get("PS2").status == E.MISSING and "PED" in r.get("PS2").reason
    assert r.get("PP1").status == E.MISSING
    only_revel = TH.with_overrides({"predictors": {"missense_order": ["revel"]}})
    s = E.suggest_for_variant(cur, "revel", "1:986732:G:A", only_revel).get("PP3")
    assert s.status == E.MISSING and "REVEL_rankscore" in s.reason
    assert r.own_clinvar.significance.startswith("Conflicting")


def test_clinvar_subset_imported_as_a_case(cur, data_dir):
    path = data_dir / "slivar/clinvar_20191007.vcf.gz"
    common = E.suggest_for_variant(cur, "clinvar", "1:949608:G:A")
    esp = bcftools("query", "-r", "1:949608", "-f", "%INFO/AF_ESP\n", str(path)).strip()
    assert common.get("BA1").met and f"ESP global allele frequency {float(esp):.4g}" in common.get("BA1").reason
    assert any("allele number" in c for c in common.get("BA1").caveats)
    nonsense = E.suggest_for_variant(cur, "clinvar", "1:949523:C:T")
    mc = bcftools("query", "-r", "1:949523", "-f", "%INFO/MC\n", str(path)).strip()
    assert "nonsense" in mc
    pvs1 = nonsense.get("PVS1")
    assert pvs1.label == "PVS1_Moderate" and "exon number not annotated" in pvs1.reason
    assert nonsense.get("PM2").met and "72 unannotated variants on chromosome 1" in nonsense.get("PM2").reason
    # Its ClinVar entries have no protein change: PS1/PM5 are missing, not failed.
    missense = E.suggest_for_variant(cur, "clinvar", "1:949392:C:T")
    assert missense.get("PS1").status == E.MISSING


def test_gnomad_subset_alleles_and_homozygotes(cur, data_dir):
    path = data_dir / "vcfanno/gno.vcf.gz"
    af, an, hom, popmax, an_popmax = bcftools(
        "query", "-i", "POS=13417 && ALT=\"CGAGA\"", "-f",
        "%INFO/AF_SAS\t%INFO/AN_SAS\t%INFO/Hom_SAS\t%INFO/POPMAX\t%INFO/AN_POPMAX\n", str(path)).split()
    r = E.suggest_for_variant(cur, "gno", "1:13417:C:CGAGA")
    ba1 = r.get("BA1")
    assert ba1.met and f"gnomAD sas allele frequency {float(af):.4g}" in ba1.reason
    assert f"{int(an):,} alleles" in ba1.reason
    # The file's popmax is a founder group with too few alleles: never the BA1 basis.
    assert popmax == "FIN" and int(an_popmax) < 2000
    assert f"{int(hom)} homozygotes in gnomAD sas" in r.get("BS2").reason


def test_annotate_with_local_gnomad_then_suggest(ws, data_dir):
    from raredesk.store.importer import import_vcf
    from raredesk.store.knowledge import annotate

    import_vcf(ws, data_dir / "cyvcf2/test.vcf.gz", "cy")
    annotate(ws, "cy", gnomad=str(data_dir / "vcfanno/gno.vcf.gz"))
    from raredesk.store.cases import get_case

    cur = ws.cursor()
    table = get_case(cur, "cy").table
    keys = [r[0] for r in cur.execute(f"SELECT vkey FROM {table} WHERE gnomad_grpmax_af IS NOT NULL "
                                      f"ORDER BY pos").fetchall()]
    assert keys
    for key in keys:
        ev = E.gather_evidence(cur, "cy", key)
        # Allele numbers come from the knowledge gnomAD case, which annotate() does not copy.
        assert any(f.an for f in ev.frequencies), key
        s = {x.code: x for x in E.evaluate(ev)}
        assert s["BA1"].status != E.MISSING and s["PM2"].status != E.MISSING


def test_every_impactful_trio_variant_gets_consistent_suggestions(cur):
    keys = [r[0] for r in cur.execute(
        "SELECT vkey FROM case_1_variants WHERE impact IN ('HIGH', 'MODERATE') OR consequence LIKE '%synonymous%' "
        "OR chrom = 'MT' ORDER BY variant_id").fetchall()]
    assert len(keys) > 60
    cat = default_catalogue()
    for key in keys:
        r = E.suggest_for_variant(cur, "trio", key)
        assert len(r.suggestions) == 28
        for s in r.suggestions:
            assert s.reason, (key, s.code)
            if s.met:
                assert s.strength in cat.criterion(s.code).allowed_strengths
        result = r.classification()
        assert result.default in ("Pathogenic", "Likely pathogenic", "Uncertain significance", "Likely benign",
                                  "Benign")
        json.dumps(r.to_dict())


def test_unknown_case_and_variant_are_one_line_errors(cur):
    with pytest.raises(RareDeskError, match="no case named 'nope'"):
        E.suggest_for_variant(cur, "nope", "1:1:A:G")
    with pytest.raises(RareDeskError, match="case 'trio' has no variant 1:1:A:G"):
        E.suggest_for_variant(cur, "trio", "1:1:A:G")
