"""Sequence Ontology consequence terms: severity order and impact.

The order is Ensembl VEP's "calculated variant consequences" table (most
severe first); SnpEff-only terms, legacy SnpEff EFF effect names and bcftools
csq short names are mapped onto it.
"""

from __future__ import annotations

# (term, impact) most severe first — Ensembl VEP consequence table.
SO_TERMS: list[tuple[str, str]] = [
    ("transcript_ablation", "HIGH"),
    ("splice_acceptor_variant", "HIGH"),
    ("splice_donor_variant", "HIGH"),
    ("stop_gained", "HIGH"),
    ("frameshift_variant", "HIGH"),
    ("stop_lost", "HIGH"),
    ("start_lost", "HIGH"),
    ("transcript_amplification", "HIGH"),
    ("feature_elongation", "HIGH"),
    ("feature_truncation", "HIGH"),
    ("inframe_insertion", "MODERATE"),
    ("inframe_deletion", "MODERATE"),
    ("missense_variant", "MODERATE"),
    ("protein_altering_variant", "MODERATE"),
    ("splice_donor_5th_base_variant", "LOW"),
    ("splice_region_variant", "LOW"),
    ("splice_donor_region_variant", "LOW"),
    ("splice_polypyrimidine_tract_variant", "LOW"),
    ("incomplete_terminal_codon_variant", "LOW"),
    ("start_retained_variant", "LOW"),
    ("stop_retained_variant", "LOW"),
    ("synonymous_variant", "LOW"),
    ("coding_sequence_variant", "MODIFIER"),
    ("mature_miRNA_variant", "MODIFIER"),
    ("5_prime_UTR_variant", "MODIFIER"),
    ("3_prime_UTR_variant", "MODIFIER"),
    ("non_coding_transcript_exon_variant", "MODIFIER"),
    ("intron_variant", "MODIFIER"),
    ("NMD_transcript_variant", "MODIFIER"),
    ("non_coding_transcript_variant", "MODIFIER"),
    ("coding_transcript_variant", "MODIFIER"),
    ("upstream_gene_variant", "MODIFIER"),
    ("downstream_gene_variant", "MODIFIER"),
    ("TFBS_ablation", "MODIFIER"),
    ("TFBS_amplification", "MODIFIER"),
    ("TF_binding_site_variant", "MODIFIER"),
    ("regulatory_region_ablation", "MODERATE"),
    ("regulatory_region_amplification", "MODIFIER"),
    ("regulatory_region_variant", "MODIFIER"),
    ("intergenic_variant", "MODIFIER"),
    ("sequence_variant", "MODIFIER"),
]

# SnpEff ANN terms not in VEP's table, placed at the VEP term they resemble.
SNPEFF_EXTRA: dict[str, str] = {
    "exon_loss_variant": "transcript_ablation",
    "gene_fusion": "transcript_ablation",
    "bidirectional_gene_fusion": "transcript_ablation",
    "rare_amino_acid_variant": "missense_variant",
    "protein_protein_contact": "missense_variant",
    "structural_interaction_variant": "missense_variant",
    "disruptive_inframe_insertion": "inframe_insertion",
    "conservative_inframe_insertion": "inframe_insertion",
    "disruptive_inframe_deletion": "inframe_deletion",
    "conservative_inframe_deletion": "inframe_deletion",
    "initiator_codon_variant": "start_retained_variant",
    "5_prime_UTR_premature_start_codon_gain_variant": "5_prime_UTR_variant",
    "5_prime_UTR_truncation": "5_prime_UTR_variant",
    "3_prime_UTR_truncation": "3_prime_UTR_variant",
    "non_coding_exon_variant": "non_coding_transcript_exon_variant",
    "non_coding_transcript_exon_variant": "non_coding_transcript_exon_variant",
    "intragenic_variant": "coding_transcript_variant",
    "sequence_feature": "sequence_variant",
    "conserved_intergenic_variant": "intergenic_variant",
    "conserved_intron_variant": "intron_variant",
    "intergenic_region": "intergenic_variant",
    "duplication": "feature_elongation",
    "inversion": "transcript_ablation",
    "feature_ablation": "transcript_ablation",
    "chromosome_number_variation": "transcript_ablation",
    "splice_region_variant": "splice_region_variant",
}

# SnpEff legacy EFF effect names -> SO terms.
EFF_TO_SO: dict[str, str] = {
    "CHROMOSOME_LARGE_DELETION": "transcript_ablation",
    "EXON_DELETED": "transcript_ablation",
    "FRAME_SHIFT": "frameshift_variant",
    "SPLICE_SITE_ACCEPTOR": "splice_acceptor_variant",
    "SPLICE_SITE_DONOR": "splice_donor_variant",
    "START_LOST": "start_lost",
    "STOP_GAINED": "stop_gained",
    "STOP_LOST": "stop_lost",
    "RARE_AMINO_ACID": "missense_variant",
    "NON_SYNONYMOUS_CODING": "missense_variant",
    "NON_SYNONYMOUS_START": "missense_variant",
    "NON_SYNONYMOUS_STOP": "stop_lost",
    "CODON_CHANGE": "protein_altering_variant",
    "CODON_INSERTION": "inframe_insertion",
    "CODON_CHANGE_PLUS_CODON_INSERTION": "inframe_insertion",
    "CODON_DELETION": "inframe_deletion",
    "CODON_CHANGE_PLUS_CODON_DELETION": "inframe_deletion",
    "UTR_5_DELETED": "5_prime_UTR_variant",
    "UTR_3_DELETED": "3_prime_UTR_variant",
    "SPLICE_SITE_REGION": "splice_region_variant",
    "SPLICE_SITE_BRANCH": "intron_variant",
    "SPLICE_SITE_BRANCH_U12": "intron_variant",
    "SYNONYMOUS_CODING": "synonymous_variant",
    "SYNONYMOUS_START": "start_retained_variant",
    "SYNONYMOUS_STOP": "stop_retained_variant",
    "START_GAINED": "5_prime_UTR_variant",
    "UTR_5_PRIME": "5_prime_UTR_variant",
    "UTR_3_PRIME": "3_prime_UTR_variant",
    "EXON": "non_coding_transcript_exon_variant",
    "INTRON": "intron_variant",
    "INTRON_CONSERVED": "intron_variant",
    "UPSTREAM": "upstream_gene_variant",
    "DOWNSTREAM": "downstream_gene_variant",
    "REGULATION": "regulatory_region_variant",
    "MOTIF": "TF_binding_site_variant",
    "INTERGENIC": "intergenic_variant",
    "INTERGENIC_CONSERVED": "intergenic_variant",
    "INTRAGENIC": "coding_transcript_variant",
    "TRANSCRIPT": "non_coding_transcript_variant",
    "GENE": "sequence_variant",
    "CDS": "coding_sequence_variant",
    "MICRO_RNA": "mature_miRNA_variant",
    "CUSTOM": "sequence_variant",
    "NONE": "sequence_variant",
}

# bcftools csq short names -> SO terms (the rest add "_variant").
BCSQ_TO_SO: dict[str, str] = {
    "5_prime_utr": "5_prime_UTR_variant",
    "3_prime_utr": "3_prime_UTR_variant",
    "non_coding": "non_coding_transcript_variant",
    "inframe_altering": "protein_altering_variant",
    "coding_sequence": "coding_sequence_variant",
    "feature_elongation": "feature_elongation",
    "stop_gained": "stop_gained",
    "stop_lost": "stop_lost",
    "start_lost": "start_lost",
    "stop_retained": "stop_retained_variant",
    "start_retained": "start_retained_variant",
    "splice_acceptor": "splice_acceptor_variant",
    "splice_donor": "splice_donor_variant",
    "splice_region": "splice_region_variant",
    "frameshift": "frameshift_variant",
    "missense": "missense_variant",
    "synonymous": "synonymous_variant",
    "inframe_deletion": "inframe_deletion",
    "inframe_insertion": "inframe_insertion",
    "intron": "intron_variant",
    "intergenic": "intergenic_variant",
}

IMPACT_RANK = {"HIGH": 0, "MODERATE": 1, "LOW": 2, "MODIFIER": 3}


def severity_table() -> dict[str, tuple[int, str]]:
    """term -> (rank, impact) for every term RareDesk knows, VEP order."""
    table = {term: (i, impact) for i, (term, impact) in enumerate(SO_TERMS)}
    for extra, like in SNPEFF_EXTRA.items():
        if extra not in table:
            table[extra] = table[like]
    return table


def sql_case(mapping: dict[str, object], expr: str, default: str = "NULL") -> str:
    """A DuckDB ``CASE expr WHEN k THEN v ... END`` from a dict of str -> str/int.

    Used instead of a MAP literal inside macros: DuckDB 1.5 rebuilds a MAP
    literal for every row (about 200x slower on 650 k annotation entries).
    """
    def lit(v):
        if isinstance(v, str):
            return "'" + v.replace("'", "''") + "'"
        return str(v)

    whens = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in mapping.items())
    return f"(CASE {expr} {whens} ELSE {default} END)"
