"""Seeded generator of a small synthetic trio rare-disease case.

``make_demo_case(out_dir, seed)`` writes, byte for byte the same for the same
seed, a self-consistent case made entirely here:

* a synthetic reference (``chr2``, ``chr7``, ``chr17``, ``chrX``, 300-380 kb
  each; isochore GC, CpG depletion, Alu/L1-like interspersed repeats,
  microsatellites, 10 kb ``N`` telomere gaps), bgzipped with ``.fai``/``.gzi``;
* gene models for 14 real gene symbols on their real chromosomes, but with
  invented, condensed coordinates and exon structures. Each gene has a MANE
  Select / canonical coding transcript (a real ORF written into the
  reference, with GT..AG introns), an in-frame exon-skipping coding isoform and
  a retained-intron transcript. Ensembl/RefSeq-style identifiers carry a ``9``
  prefix (``ENSG9...``, ``ENST9...``, ``NM_9...``) so they never name a real
  feature; rsIDs are random;
* a PED (family ``DEMO``: affected son, unaffected parents);
* a joint-called-looking trio VCF (genome-wide over the synthetic contigs,
  like a WGS call set) with a simulated Ensembl VEP ``CSQ`` (consequences,
  HGVS and protein changes computed from the gene models), gnomAD-style and
  ClinVar-style INFO fields;
* three BAMs of simulated 2x150 bp Illumina reads at ~30x (15x on the males'
  chrX). They are "reduced" BAMs: only windows around the target exons carry
  reads, like a region slice of a WGS BAM. Inside those windows the VCF's
  AD/DP are the counts of the simulated reads, so the VCF and the reads agree;
* a target BED (the MANE exons) and a gene panel (one symbol per line).

Five findings are planted and described in :attr:`DemoFiles.planted`.
"""

from __future__ import annotations

import bisect
import hashlib
import math
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pysam

DEFAULT_SEED = 7
GENERATOR_VERSION = "1"
FILE_DATE = "20240601"  # fixed so the same seed gives the same bytes

FAMILY_ID = "DEMO"
PROBAND, FATHER, MOTHER = "DEMO_PROBAND", "DEMO_FATHER", "DEMO_MOTHER"
SAMPLE_ORDER = (PROBAND, FATHER, MOTHER)
MALES = (PROBAND, FATHER)

REFERENCE_NAME = "raredesk_demo.fa.gz"
CONTIGS = (("chr2", 380_000), ("chr7", 340_000), ("chr17", 300_000), ("chrX", 360_000))
TELOMERE_N = 10_000

CSQ_FIELDS = (
    "Allele|Consequence|IMPACT|SYMBOL|Gene|Feature_type|Feature|BIOTYPE|EXON|INTRON|HGVSc|HGVSp|"
    "cDNA_position|CDS_position|Protein_position|Amino_acids|Codons|Existing_variation|DISTANCE|"
    "STRAND|FLAGS|SYMBOL_SOURCE|HGNC_ID|CANONICAL|MANE_SELECT|SIFT|PolyPhen|gnomADe_AF|gnomADg_AF|"
    "MAX_AF|REVEL|CADD_PHRED|SpliceAI_pred_DS_AG|SpliceAI_pred_DS_AL|SpliceAI_pred_DS_DG|"
    "SpliceAI_pred_DS_DL|am_pathogenicity|am_class|CLIN_SIG"
).split("|")

PANEL = ("SCN1A", "SCN2A", "MECP2", "OTC", "ABCD1", "ALMS1", "CFTR", "DMD", "NF1")

# gnomAD v3-like genome allele numbers per population (the rest is "other").
GNOMAD_POPS = ("afr", "amr", "asj", "eas", "fin", "nfe", "sas")
GNOMAD_POP_AN = {"afr": 41_000, "amr": 15_300, "asj": 3_400, "eas": 5_100,
                 "fin": 10_600, "nfe": 68_000, "sas": 4_800}
GNOMAD_OTHER_AN = 4_100
POPMAX_POPS = ("afr", "amr", "eas", "nfe", "sas")  # gnomAD leaves out bottlenecked pops


@dataclass(frozen=True)
class DemoFiles:
    """Paths and facts of one generated demo case.

    Attributes
    ----------
    out_dir : Path
        Folder holding every file below.
    reference : Path
        bgzipped FASTA; ``reference_fai`` and ``reference_gzi`` beside it.
    reference_fai, reference_gzi : Path
    ped : Path
        6-column PED, no header.
    vcf : Path
        bgzipped trio VCF; ``vcf_index`` is its tabix index.
    vcf_index : Path
    bams : dict of str to Path
        Sample name -> coordinate-sorted BAM (``.bai`` beside it).
    bam_indexes : dict of str to Path
    targets_bed : Path
        BED4 of the MANE exons (0-based, half-open; name = gene symbol).
    read_windows_bed : Path
        BED3 of the windows that carry reads in the BAMs.
    panel : Path
        Gene panel, one HGNC symbol per line.
    samples : dict of str to str
        Role (``proband``, ``father``, ``mother``) -> sample name.
    planted : list of dict
        The planted findings: ``key`` (``chrom:pos:ref:alt``), ``chrom``,
        ``pos``, ``ref``, ``alt``, ``gene``, ``kind``, ``what``,
        ``inheritance``, ``genotypes`` (sample -> GT), ``hgvsc``, ``hgvsp``
        and, for the compound het, ``partner`` (the other key).
    seed : int
    n_variants : int
        Number of VCF records.
    """

    out_dir: Path
    reference: Path
    reference_fai: Path
    reference_gzi: Path
    ped: Path
    vcf: Path
    vcf_index: Path
    bams: dict
    bam_indexes: dict
    targets_bed: Path
    read_windows_bed: Path
    panel: Path
    samples: dict
    planted: list
    seed: int
    n_variants: int

    def paths(self) -> list[Path]:
        """Every file written, indexes included."""
        out = [self.reference, self.reference_fai, self.reference_gzi, self.ped, self.vcf,
               self.vcf_index, self.targets_bed, self.read_windows_bed, self.panel]
        for name in SAMPLE_ORDER:
            out += [self.bams[name], self.bam_indexes[name]]
        return out


# --------------------------------------------------------------------------------------
# sequence helpers

_COMP = str.maketrans("ACGTNacgtn", "TGCANtgcan")
_BASES = "TCAG"
_AA1 = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"
_CODON = {a + b + c: _AA1[16 * i + 4 * j + k]
          for i, a in enumerate(_BASES) for j, b in enumerate(_BASES) for k, c in enumerate(_BASES)}
_AA3 = {"A": "Ala", "R": "Arg", "N": "Asn", "D": "Asp", "C": "Cys", "Q": "Gln", "E": "Glu",
        "G": "Gly", "H": "His", "I": "Ile", "L": "Leu", "K": "Lys", "M": "Met", "F": "Phe",
        "P": "Pro", "S": "Ser", "T": "Thr", "W": "Trp", "Y": "Tyr", "V": "Val", "*": "Ter",
        "X": "Xaa"}
# Rough human amino-acid usage; codons of one amino acid are equally likely.
_AA_FREQ = {"L": 9.9, "S": 8.3, "A": 7.0, "E": 7.1, "G": 6.6, "V": 6.0, "K": 5.7, "R": 5.6,
            "P": 6.3, "T": 5.4, "D": 4.7, "I": 4.3, "Q": 4.8, "N": 3.6, "F": 3.6, "Y": 2.7,
            "H": 2.6, "C": 2.3, "M": 2.1, "W": 1.2}
_SENSE = sorted(c for c, a in _CODON.items() if a != "*")
_SENSE_P = np.array([_AA_FREQ[_CODON[c]] / sum(1 for d in _SENSE if _CODON[d] == _CODON[c])
                     for c in _SENSE])
_SENSE_P /= _SENSE_P.sum()


def _revcomp(s: str) -> str:
    return s.translate(_COMP)[::-1]


def _translate(seq: str) -> str:
    """Translate from the first base up to and including the first stop."""
    out = []
    for i in range(0, len(seq) - 2, 3):
        aa = _CODON.get(seq[i:i + 3], "X")
        out.append(aa)
        if aa == "*":
            break
    return "".join(out)


def _aa3(s: str) -> str:
    return "".join(_AA3[a] for a in s)


def _random_seq(rng, n: int, gc: float) -> str:
    p = [(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2]
    return "".join(np.array(list("ACGT"))[rng.choice(4, size=n, p=p)])


def _mutate(rng, s: str, divergence: float) -> str:
    a = np.frombuffer(s.encode(), dtype=np.uint8).copy()
    hit = np.flatnonzero(rng.random(a.size) < divergence)
    a[hit] = np.frombuffer(b"ACGT", dtype=np.uint8)[rng.integers(0, 4, hit.size)]
    return a.tobytes().decode()


# --------------------------------------------------------------------------------------
# reference


@dataclass
class _Genome:
    seq: dict            # chrom -> str (upper case)
    arr: dict            # chrom -> np.uint8 array of the same bases
    repeats: dict        # chrom -> sorted list of (start0, end0, divergence) interspersed copies
    microsats: dict      # chrom -> list of (start0, unit, count)


def _build_reference(rng) -> tuple[dict, dict, dict]:
    """Background sequence with isochores, CpG depletion and repeats (no genes yet)."""
    codes = np.frombuffer(b"ACGT", dtype=np.uint8)
    alu = _random_seq(rng, 282, 0.56)       # one young SINE family ...
    line = _random_seq(rng, 1_400, 0.39)    # ... and one LINE-like family, shared by all contigs
    seqs, repeats, microsats = {}, {}, {}
    for chrom, length in CONTIGS:
        a = np.empty(length, dtype=np.uint8)
        for b0 in range(0, length, 50_000):
            gc = rng.uniform(0.36, 0.48)
            n = min(50_000, length - b0)
            a[b0:b0 + n] = codes[rng.choice(4, size=n, p=[(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])]
        # CpG depletion: most CG dinucleotides decayed to TG or CA by deamination.
        cg = np.flatnonzero((a[:-1] == ord("C")) & (a[1:] == ord("G")))
        hit = cg[rng.random(cg.size) < 0.9]
        to_t = rng.random(hit.size) < 0.5
        a[hit[to_t]] = ord("T")
        a[hit[~to_t] + 1] = ord("A")
        reps = []
        pos = TELOMERE_N
        while True:  # SINE copies (with poly-A tails), ~1 per 3.5 kb
            pos += int(rng.exponential(3_500)) + 300
            if pos > length - TELOMERE_N - 400:
                break
            div = float(rng.uniform(0.03, 0.18))
            copy = _mutate(rng, alu[int(rng.integers(0, 40)):], div) + "A" * int(rng.integers(8, 30))
            if rng.random() < 0.5:
                copy = _revcomp(copy)
            a[pos:pos + len(copy)] = np.frombuffer(copy.encode(), dtype=np.uint8)
            reps.append((pos, pos + len(copy), div))
        pos = TELOMERE_N
        while True:  # truncated LINE copies, ~1 per 14 kb
            pos += int(rng.exponential(14_000)) + 1_500
            if pos > length - TELOMERE_N - 1_500:
                break
            n = int(rng.integers(200, len(line)))
            div = float(rng.uniform(0.06, 0.22))
            copy = _mutate(rng, line[-n:], div)
            if rng.random() < 0.5:
                copy = _revcomp(copy)
            a[pos:pos + n] = np.frombuffer(copy.encode(), dtype=np.uint8)
            reps.append((pos, pos + n, div))
        ms = []
        pos = TELOMERE_N
        while True:  # microsatellites, ~1 per 2.5 kb
            pos += int(rng.exponential(2_500)) + 50
            if pos > length - TELOMERE_N - 100:
                break
            k = int(rng.choice([1, 2, 2, 3, 4]))
            unit = _random_seq(rng, k, 0.35)
            if len(set(unit)) == 1 and k > 1:
                unit = unit[0]
            count = int(rng.integers(max(5, 10 // len(unit)), max(8, 40 // len(unit))))
            rep = unit * count
            a[pos:pos + len(rep)] = np.frombuffer(rep.encode(), dtype=np.uint8)
            ms.append((pos, unit, count))
        a[:TELOMERE_N] = ord("N")
        a[-TELOMERE_N:] = ord("N")
        seqs[chrom] = a
        repeats[chrom] = sorted(reps)
        microsats[chrom] = ms
    return seqs, repeats, microsats


# --------------------------------------------------------------------------------------
# genes


@dataclass(frozen=True)
class _GeneSpec:
    symbol: str
    hgnc: int
    chrom: str
    strand: int
    n_exons: int
    start: int
    disease: str  # ClinVar-style CLNDN


# Real symbols, HGNC ids and chromosomes (and strands); invented coordinates.
GENE_SPECS = (
    _GeneSpec("SCN2A", 10588, "chr2", 1, 12, 40_000, "Developmental_and_epileptic_encephalopathy_11"),
    _GeneSpec("SCN1A", 10585, "chr2", -1, 14, 140_000, "Severe_myoclonic_epilepsy_in_infancy"),
    _GeneSpec("ALMS1", 428, "chr2", 1, 10, 260_000, "Alstrom_syndrome"),
    _GeneSpec("ELN", 3327, "chr7", 1, 9, 35_000, "Supravalvar_aortic_stenosis"),
    _GeneSpec("CFTR", 1884, "chr7", 1, 14, 125_000, "Cystic_fibrosis"),
    _GeneSpec("KCNH2", 6251, "chr7", -1, 11, 235_000, "Long_QT_syndrome_2"),
    _GeneSpec("TP53", 11998, "chr17", -1, 8, 32_000, "Li-Fraumeni_syndrome"),
    _GeneSpec("NF1", 7765, "chr17", 1, 14, 95_000, "Neurofibromatosis_type_1"),
    _GeneSpec("COL1A1", 2197, "chr17", -1, 12, 170_000, "Osteogenesis_imperfecta_type_I"),
    _GeneSpec("BRCA1", 1100, "chr17", -1, 12, 232_000, "Hereditary_breast_ovarian_cancer_syndrome"),
    _GeneSpec("OTC", 8512, "chrX", 1, 8, 35_000, "Ornithine_carbamoyltransferase_deficiency"),
    _GeneSpec("DMD", 2928, "chrX", -1, 16, 100_000, "Duchenne_muscular_dystrophy"),
    _GeneSpec("MECP2", 6990, "chrX", -1, 5, 215_000, "Rett_syndrome"),
    _GeneSpec("ABCD1", 61, "chrX", 1, 10, 280_000, "Adrenoleukodystrophy"),
)


@dataclass
class _Transcript:
    tx_id: str
    version: int
    biotype: str
    gene: "_Gene"
    exons: list          # transcript order, genomic 1-based inclusive (start, end)
    coding: bool
    protein_id: str = ""
    canonical: bool = False
    mane: str = ""
    cdna: str = ""
    cds_start: int = 0   # 1-based cDNA position of the A of the ATG
    cds_len: int = 0     # includes the stop codon

    @property
    def strand(self) -> int:
        return self.gene.spec.strand

    @property
    def lo(self) -> int:
        return min(s for s, _ in self.exons)

    @property
    def hi(self) -> int:
        return max(e for _, e in self.exons)

    def exon_of(self, g: int):
        """(exon number, cDNA position) of genomic position ``g``, or None."""
        off = 0
        for k, (s, e) in enumerate(self.exons):
            if s <= g <= e:
                return k + 1, off + (g - s + 1 if self.strand == 1 else e - g + 1)
            off += e - s + 1
        return None

    def intron_of(self, g: int):
        """(intron number, distance to donor side, distance to acceptor side,
        cDNA of the last base before, cDNA of the first base after) or None."""
        off = 0
        for k in range(len(self.exons) - 1):
            s, e = self.exons[k]
            off += e - s + 1
            ns, ne = self.exons[k + 1]
            if self.strand == 1:
                lo, hi, dd, da = e + 1, ns - 1, g - e, ns - g
            else:
                lo, hi, dd, da = ne + 1, s - 1, s - g, g - ne
            if lo <= g <= hi:
                return k + 1, dd, da, off, off + 1
        return None

    def genomic_of_cdna(self, c: int) -> int:
        off = 0
        for s, e in self.exons:
            n = e - s + 1
            if c <= off + n:
                return s + (c - off - 1) if self.strand == 1 else e - (c - off - 1)
            off += n
        raise ValueError(c)

    def c_of_cdna(self, c: int) -> str:
        if not self.coding:
            return str(c)
        p = c - self.cds_start + 1
        if p <= 0:
            return f"-{1 - p}"
        if p > self.cds_len:
            return f"*{p - self.cds_len}"
        return str(p)

    def c_pos(self, g: int) -> str:
        ex = self.exon_of(g)
        if ex:
            return self.c_of_cdna(ex[1])
        intr = self.intron_of(g)
        if intr is None:
            raise ValueError(g)
        _, dd, da, before, after = intr
        if dd <= da:
            return f"{self.c_of_cdna(before)}+{dd}"
        return f"{self.c_of_cdna(after)}-{da}"

    @property
    def hgvs_prefix(self) -> str:
        return f"{self.tx_id}.{self.version}:{'c' if self.coding else 'n'}."


@dataclass
class _Gene:
    spec: _GeneSpec
    gene_id: str
    transcripts: list = field(default_factory=list)

    @property
    def mane(self) -> _Transcript:
        return self.transcripts[0]

    @property
    def lo(self) -> int:
        return min(t.lo for t in self.transcripts)

    @property
    def hi(self) -> int:
        return max(t.hi for t in self.transcripts)


def _put(a: np.ndarray, strand: int, g5: int, piece: str) -> None:
    """Write ``piece`` (transcript orientation) whose 5' base lies at genomic ``g5``."""
    if strand == 1:
        a[g5 - 1:g5 - 1 + len(piece)] = np.frombuffer(piece.encode(), dtype=np.uint8)
    else:
        a[g5 - len(piece):g5] = np.frombuffer(_revcomp(piece).encode(), dtype=np.uint8)


_DONORS = ("GTAAGT", "GTGAGT", "GTAAGA", "GTGAGG", "GTAAGG", "GTGAGC")


def _build_genes(rng, seqs: dict) -> list[_Gene]:
    genes = []
    for gi, spec in enumerate(GENE_SPECS):
        a = seqs[spec.chrom]
        n = spec.n_exons
        coding = [int(rng.integers(60, 241)) for _ in range(n)]
        coding[0] = int(rng.integers(30, 151))
        coding[-1] = int(rng.integers(24, 181))
        skip = n // 2  # an in-frame, phase-0 exon the alternative isoform skips
        coding[skip - 1] += (-sum(coding[:skip])) % 3
        coding[skip] += (-coding[skip]) % 3
        coding[-1] += (-sum(coding)) % 3
        cds_len = sum(coding)
        codons = rng.choice(len(_SENSE), size=cds_len // 3 - 2, p=_SENSE_P)
        stop = str(rng.choice(["TGA", "TAA", "TAG"], p=[0.5, 0.3, 0.2]))
        cds = "ATG" + "".join(_SENSE[c] for c in codons) + stop
        utr5 = _random_seq(rng, int(rng.integers(60, 261)), 0.58)
        utr3 = _random_seq(rng, int(rng.integers(300, 1401)), 0.42)
        cdna = utr5 + cds + utr3
        lens = list(coding)
        lens[0] += len(utr5)
        lens[-1] += len(utr3)
        introns = [int(x) for x in np.clip(rng.lognormal(math.log(1_100), 0.6, n - 1), 300, 5_000)]
        introns[0] = int(introns[0] * 1.6)
        span = sum(lens) + sum(introns)
        exons = []
        if spec.strand == 1:
            cur = spec.start
            for k in range(n):
                exons.append((cur, cur + lens[k] - 1))
                cur += lens[k] + (introns[k] if k < n - 1 else 0)
        else:
            cur = spec.start + span - 1
            for k in range(n):
                exons.append((cur - lens[k] + 1, cur))
                cur -= lens[k] + (introns[k] if k < n - 1 else 0)
        off = 0
        for k, (s, e) in enumerate(exons):
            _put(a, spec.strand, s if spec.strand == 1 else e, cdna[off:off + lens[k]])
            off += lens[k]
        for k in range(n - 1):
            donor = str(rng.choice(_DONORS))
            _put(a, spec.strand, exons[k][1] + 1 if spec.strand == 1 else exons[k][0] - 1, donor)
            pyr = "".join("CT"[int(x)] if y < 0.85 else "AG"[int(x)]
                          for x, y in zip(rng.integers(0, 2, 14), rng.random(14)))
            acc = pyr + str(rng.choice(list("ACGT"))) + ("C" if rng.random() < 0.7 else "T") + "AG"
            nxt = exons[k + 1]
            g5 = nxt[0] - len(acc) if spec.strand == 1 else nxt[1] + len(acc)
            _put(a, spec.strand, g5, acc)

        gene = _Gene(spec, f"ENSG9{gi + 1:010d}")
        base = (gi + 1) * 100
        mane = _Transcript(f"ENST9{base + 1:010d}", int(rng.integers(1, 8)), "protein_coding", gene,
                           exons, True, protein_id=f"ENSP9{base + 1:010d}", canonical=True,
                           mane=f"NM_9{gi + 1:02d}{int(rng.integers(100, 1000))}.{int(rng.integers(1, 6))}")
        alt = _Transcript(f"ENST9{base + 2:010d}", int(rng.integers(1, 5)), "protein_coding", gene,
                          exons[:skip] + exons[skip + 1:], True, protein_id=f"ENSP9{base + 2:010d}")
        j = 1 if n > 4 else 0
        merged = (min(exons[j][0], exons[j + 1][0]), max(exons[j][1], exons[j + 1][1]))
        ri = _Transcript(f"ENST9{base + 3:010d}", int(rng.integers(1, 4)), "retained_intron", gene,
                         [merged, exons[j + 2]], False)
        mane.cds_start, mane.cds_len = len(utr5) + 1, cds_len
        gene.transcripts = [mane, alt, ri]
        genes.append(gene)
    # sanity: genes stay apart and inside the contigs
    for chrom, length in CONTIGS:
        on = sorted((g for g in genes if g.spec.chrom == chrom), key=lambda g: g.lo)
        for g1, g2 in zip(on, on[1:]):
            assert g1.hi + 8_000 < g2.lo, (g1.spec.symbol, g2.spec.symbol)
        assert on[0].lo > TELOMERE_N + 8_000 and on[-1].hi < length - TELOMERE_N - 8_000, chrom
    return genes


def _finish_transcripts(genes: list[_Gene], genome: dict) -> None:
    """Splice each transcript from the final reference and check the ORFs."""
    for gene in genes:
        seq = genome[gene.spec.chrom]
        for tx in gene.transcripts:
            parts = [seq[s - 1:e] for s, e in tx.exons]
            if tx.strand == -1:
                parts = [_revcomp(p) for p in parts]
            tx.cdna = "".join(parts)
        mane = gene.mane
        atg = mane.genomic_of_cdna(mane.cds_start)
        for tx in gene.transcripts:
            if not tx.coding:
                continue
            tx.cds_start = tx.exon_of(atg)[1]
            prot = _translate(tx.cdna[tx.cds_start - 1:])
            if tx is mane:
                assert len(prot) * 3 == tx.cds_len, (gene.spec.symbol, len(prot), tx.cds_len)
            tx.cds_len = 3 * len(prot)
            assert prot.startswith("M") and prot.endswith("*") and prot.count("*") == 1, tx.tx_id


def _regulatory_features(rng, genes: list[_Gene]) -> dict:
    """chrom -> list of (start1, end1, ENSR id, biotype)."""
    feats = {c: [] for c, _ in CONTIGS}
    k = 0
    for gene in genes:
        tss = gene.mane.exons[0][0] if gene.spec.strand == 1 else gene.mane.exons[0][1]
        lo, hi = (tss - 1_200, tss + 300) if gene.spec.strand == 1 else (tss - 300, tss + 1_200)
        k += 1
        feats[gene.spec.chrom].append((lo, hi, f"ENSR9{k:010d}", "promoter"))
    for chrom, length in CONTIGS:
        busy = [(g.lo - 6_000, g.hi + 6_000) for g in genes if g.spec.chrom == chrom]
        placed = 0
        while placed < 4:
            s = int(rng.integers(TELOMERE_N + 2_000, length - TELOMERE_N - 2_000))
            if any(lo <= s <= hi for lo, hi in busy):
                continue
            kind = "enhancer" if placed < 3 else "CTCF_binding_site"
            n = int(rng.integers(400, 1_500)) if kind == "enhancer" else int(rng.integers(150, 300))
            k += 1
            feats[chrom].append((s, s + n, f"ENSR9{k:010d}", kind))
            busy.append((s, s + n))
            placed += 1
        feats[chrom].sort()
    return feats


# --------------------------------------------------------------------------------------
# variant sites


@dataclass
class _Site:
    chrom: str
    pos: int
    ref: str
    alts: list
    af: list                          # population allele frequency per ALT (0 = not in gnomAD)
    haps: dict = field(default_factory=dict)   # sample -> (allele on hap 0 (paternal), hap 1)
    rsid: str = "."
    planted: dict | None = None
    decoy_ad: tuple | None = None     # fixed proband AD for low-quality "de novo" artefacts
    gnomad: list | None = None        # per ALT: dict or None
    clinvar: tuple | None = None      # (CLNSIG, CLNREVSTAT, CLNDN)
    scores: dict = field(default_factory=dict)  # per ALT index: forced score dict (planted)
    ad: dict = field(default_factory=dict)      # sample -> list of allele depths
    from_reads: bool = False
    calls: dict = field(default_factory=dict)   # sample -> (GT tuple or None, AD, DP, GQ, PL)
    csq: str = ""

    @property
    def end(self) -> int:
        return self.pos + len(self.ref) - 1


def _norm_del(g: str, d0: int, n: int) -> tuple[int, str, str]:
    """Left-aligned VCF record for the deletion of g[d0:d0+n] (0-based)."""
    while d0 > 1 and g[d0 - 1] == g[d0 + n - 1]:
        d0 -= 1
    return d0, g[d0 - 1:d0 + n], g[d0 - 1]


def _norm_ins(g: str, i: int, s: str) -> tuple[int, str, str]:
    """Left-aligned VCF record for inserting ``s`` after 0-based base ``i``."""
    while i > 0 and g[i] == s[-1]:
        s = g[i] + s[:-1]
        i -= 1
    return i + 1, g[i], g[i] + s


def _combine(alleles: list) -> tuple[int, str, list]:
    """Merge same-POS (pos, ref, alt) alleles into one multi-allelic record."""
    ref = max((r for _, r, _ in alleles), key=len)
    return alleles[0][0], ref, [a + ref[len(r):] for _, r, a in alleles]


def _draw_af(rng) -> float:
    u = rng.random()
    if u < 0.80:
        return float(0.05 + 0.94 * rng.beta(1.1, 1.6))
    if u < 0.90:
        return float(10 ** rng.uniform(math.log10(0.005), math.log10(0.05)))
    if u < 0.975:
        return float(10 ** rng.uniform(math.log10(2e-5), math.log10(0.005)))
    return 0.0


_TRANSITION = {"A": "G", "G": "A", "C": "T", "T": "C"}


def _snv_alt(rng, b: str, exclude: str = "") -> str:
    if not exclude and rng.random() < 0.68:   # Ts/Tv ~2.1 as in human WGS
        return _TRANSITION[b]
    choices = [x for x in "ACGT" if x != b and x not in exclude and (exclude or x != _TRANSITION[b])]
    return str(rng.choice(choices))


def _random_sites(rng, genome: _Genome, genes: list[_Gene], n_target: int,
                  blocked: list[tuple[str, int, int]]) -> list[_Site]:
    total = sum(L - 2 * TELOMERE_N for _, L in CONTIGS)
    sites = []
    for chrom, length in CONTIGS:
        g = genome.seq[chrom]
        n = int(n_target * (length - 2 * TELOMERE_N) / total)
        exon_iv = [(s - 20, e + 20) for gene in genes if gene.spec.chrom == chrom
                   for tx in gene.transcripts if tx.coding for s, e in tx.exons]
        cands = []  # (pos0, kind, extra)
        n_exonic = int(0.10 * n)
        for _ in range(n_exonic):
            s, e = exon_iv[int(rng.integers(0, len(exon_iv)))]
            cands.append((int(rng.integers(s, e + 1)) - 1, "any", None))
        for p in rng.integers(TELOMERE_N + 1_000, length - TELOMERE_N - 1_000, n - n_exonic):
            cands.append((int(p), "any", None))
        for ms in genome.microsats[chrom]:
            if rng.random() < 0.3:
                cands.append((ms[0], "ms", ms))
        cands.sort(key=lambda c: c[0])
        last_end = 0
        for p0, kind, ms in cands:
            rec = None
            if kind == "ms":
                s0, unit, count = ms
                if g[s0:s0 + len(unit) * count] != unit * count:
                    continue  # overwritten by a gene
                u = rng.random()
                alleles = [_norm_del(g, s0, len(unit)) if u < 0.55 else _norm_ins(g, s0 - 1, unit)]
                if rng.random() < 0.3:
                    second = (_norm_ins(g, s0 - 1, unit) if u < 0.55
                              else _norm_ins(g, s0 - 1, unit * 2))
                    if u < 0.55 and rng.random() < 0.5 and count > 3:
                        second = _norm_del(g, s0, 2 * len(unit))
                    if second[0] == alleles[0][0]:
                        alleles.append(second)
                pos, ref, alts = _combine(alleles)
                afs = [_draw_af(rng) for _ in alts]
                rec = (pos, ref, alts, afs)
            else:
                if p0 < 2 or g[p0] == "N":
                    continue
                u = rng.random()
                if u < 0.87:
                    b = g[p0]
                    alt = _snv_alt(rng, b)
                    alts = [alt]
                    if rng.random() < 0.02:
                        alts.append(_snv_alt(rng, b, exclude=alt))
                    elif rng.random() < 0.004:
                        alts.append(b + _random_seq(rng, int(rng.integers(1, 4)), 0.4))
                    rec = (p0 + 1, b, alts, [_draw_af(rng) for _ in alts])
                elif u < 0.935:
                    n_del = min(int(rng.geometric(0.45)), 20)
                    pos, ref, alt = _norm_del(g, p0, n_del)
                    rec = (pos, ref, [alt], [_draw_af(rng)])
                else:
                    n_ins = min(int(rng.geometric(0.5)), 12)
                    ins = g[p0 + 1:p0 + 1 + n_ins] if rng.random() < 0.5 else _random_seq(rng, n_ins, 0.4)
                    pos, ref, alt = _norm_ins(g, p0, ins)
                    rec = (pos, ref, [alt], [_draw_af(rng)])
            pos, ref, alts, afs = rec
            if "N" in ref or any("N" in a for a in alts):
                continue
            if pos <= last_end + 2:
                continue
            if any(c == chrom and lo <= pos + len(ref) and pos <= hi for c, lo, hi in blocked):
                continue
            if len(alts) > 1:
                afs[1:] = [min(f, float(10 ** rng.uniform(-4, -1.3))) for f in afs[1:]]
            sites.append(_Site(chrom, pos, ref, alts, afs))
            last_end = pos + len(ref) - 1
    return sites


def _purifying_selection(rng, sites: list[_Site], genes: list[_Gene], genome: _Genome) -> list[_Site]:
    """Thin out and rarefy damaging random variants, as selection does in real genomes
    (most loss-of-function alleles are rare; common ones are mostly benign)."""
    by_chrom = {c: [g for g in genes if g.spec.chrom == c] for c, _ in CONTIGS}
    out = []
    for site in sites:
        worst = []
        for alt in site.alts:
            start, r, a = _trim(site.pos, site.ref, alt)
            terms = [t for gene in by_chrom[site.chrom] for tx in gene.transcripts
                     for eff in [_tx_effect(tx, genome.seq[site.chrom], start, r, a)] if eff
                     for t in eff["terms"]]
            worst.append(_IMPACT[min(terms, key=_RANK.__getitem__)] if terms else "MODIFIER")
        if "HIGH" in worst:
            if rng.random() > 0.3:
                continue
            site.af = [0.0 if rng.random() < 0.3 else float(10 ** rng.uniform(-4.7, -2.7))
                       if rng.random() < 0.85 else f for f in site.af]
        elif "MODERATE" in worst and rng.random() < 0.4:
            site.af = [float(10 ** rng.uniform(-4.7, -1.5)) for _ in site.af]
        out.append(site)
    return out


# --------------------------------------------------------------------------------------
# inheritance


class _Transmission:
    """Which parental haplotype the proband inherited, along each contig (with crossovers)."""

    def __init__(self, rng):
        self.maps = {}
        for parent in (FATHER, MOTHER):
            for chrom, length in CONTIGS:
                n = int(rng.integers(0, 3))
                xs = sorted(int(x) for x in rng.integers(TELOMERE_N, length - TELOMERE_N, n))
                self.maps[parent, chrom] = (int(rng.integers(0, 2)), xs)

    def hap(self, parent: str, chrom: str, pos: int) -> int:
        first, xs = self.maps[parent, chrom]
        return (first + bisect.bisect_right(xs, pos)) % 2


def _assign_haplotypes(rng, sites: list[_Site], trans: _Transmission) -> None:
    for site in sites:
        if site.haps:
            continue
        n_alt = len(site.alts)
        if site.decoy_ad is not None:
            site.haps = {s: (0, 0) for s in SAMPLE_ORDER}
            continue
        p = np.array([0.0] + list(site.af))
        p[0] = max(0.0, 1.0 - p[1:].sum())
        p /= p.sum()
        x_male = site.chrom == "chrX"
        for _ in range(30):
            f = [int(x) for x in rng.choice(n_alt + 1, size=1 if x_male else 2, p=p)]
            m = [int(x) for x in rng.choice(n_alt + 1, size=2, p=p)]
            if any(f) or any(m):
                break
        slots = [("f", i) for i in range(len(f))] + [("m", i) for i in range(2)]
        for allele in range(1, n_alt + 1):  # every ALT is carried by someone
            if allele not in f and allele not in m:
                free = [s for s in slots if (f if s[0] == "f" else m)[s[1]] == 0] or slots
                who, i = free[int(rng.integers(0, len(free)))]
                (f if who == "f" else m)[i] = allele
        tm = trans.hap(MOTHER, site.chrom, site.pos)
        if x_male:
            site.haps = {FATHER: (f[0], f[0]), MOTHER: (m[0], m[1]), PROBAND: (m[tm], m[tm])}
        else:
            tf = trans.hap(FATHER, site.chrom, site.pos)
            site.haps = {FATHER: (f[0], f[1]), MOTHER: (m[0], m[1]), PROBAND: (f[tf], m[tm])}


# --------------------------------------------------------------------------------------
# planted findings


def _codon_candidates(tx: _Transcript, rng):
    """Codon indices (0-based) well inside internal exons, in random order."""
    n_cod = tx.cds_len // 3
    idx = [int(i) for i in rng.permutation(np.arange(5, n_cod - 5))]
    for ci in idx:
        gs = [tx.genomic_of_cdna(tx.cds_start + 3 * ci + k) for k in range(3)]
        exs = [tx.exon_of(g)[0] for g in gs]
        if len(set(exs)) != 1 or exs[0] in (1, len(tx.exons)):
            continue
        s, e = tx.exons[exs[0] - 1]
        if min(gs) - s < 6 or e - max(gs) < 6:
            continue
        yield ci, gs


def _plant_snv(rng, tx: _Transcript, want: str) -> tuple[int, str, str]:
    cds = tx.cdna[tx.cds_start - 1:tx.cds_start - 1 + tx.cds_len]
    for ci, gs in _codon_candidates(tx, rng):
        codon = cds[3 * ci:3 * ci + 3]
        ref_aa = _CODON[codon]
        if ref_aa in "*M":
            continue
        for k in rng.permutation(3):
            k = int(k)
            for b in "ACGT":
                if b == codon[k]:
                    continue
                new = codon[:k] + b + codon[k + 1:]
                aa = _CODON[new]
                ok = (aa == "*") if want == "stop_gained" else (aa not in ("*", ref_aa) and
                                                                ref_aa in "RGLCPWYDE")
                if ok:
                    g = gs[k]
                    gb = b if tx.strand == 1 else _revcomp(b)
                    return g, (codon[k] if tx.strand == 1 else _revcomp(codon[k])), gb
    raise RuntimeError(f"no {want} site found in {tx.tx_id}")


def _plant_deletion(rng, tx: _Transcript, genome: str) -> tuple[int, str, str]:
    for ci, gs in _codon_candidates(tx, rng):
        g = gs[1]
        if len({genome[g - 2], genome[g - 1], genome[g]}) == 3:
            return g - 1, genome[g - 2:g], genome[g - 2]
    raise RuntimeError(f"no deletion site found in {tx.tx_id}")


def _gnomad_counts(counts: dict) -> dict:
    """gnomAD-style fields from per-population allele counts (exact, for planted sites)."""
    pops = {p: counts.get(p, 0) / GNOMAD_POP_AN[p] for p in GNOMAD_POPS}
    an = sum(GNOMAD_POP_AN.values()) + GNOMAD_OTHER_AN
    ac = sum(counts.values())
    return {"ac": ac, "an": an, "af": ac / an, "pops": pops,
            "popmax": max(pops[p] for p in POPMAX_POPS), "nhomalt": 0, "exome_af": ac / an * 1.1}


def _plant(rng, genes: list[_Gene], genome: _Genome, trans: _Transmission) -> list[_Site]:
    by = {g.spec.symbol: g for g in genes}
    out = []

    def site(symbol, kind, ref_alt, who, what, inheritance, af=0.0, gnomad=None, clinvar=None,
             scores=None, rsid=".", partner_of=None):
        gene = by[symbol]
        chrom = gene.spec.chrom
        pos, ref, alt = ref_alt
        tf = trans.hap(FATHER, chrom, pos)
        tm = trans.hap(MOTHER, chrom, pos)
        f, m = [0, 0], [0, 0]
        x_male = chrom == "chrX"
        if "father" in who:
            f[0 if x_male else tf] = 1
        if "mother" in who:
            m[tm] = 1
        if x_male:
            haps = {FATHER: (f[0], f[0]), MOTHER: tuple(m), PROBAND: (m[tm], m[tm])}
        else:
            haps = {FATHER: tuple(f), MOTHER: tuple(m), PROBAND: (f[tf], m[tm])}
        if "de_novo" in who:
            haps[PROBAND] = (1, haps[PROBAND][1])
        s = _Site(chrom, pos, ref, [alt], [af], haps=haps, rsid=rsid, gnomad=[gnomad],
                  clinvar=clinvar, scores={0: scores or {}})
        gt = {name: "/".join(str(x) for x in sorted(h)) for name, h in haps.items()}
        s.planted = {"key": f"{chrom}:{pos}:{ref}:{alt}", "chrom": chrom, "pos": pos, "ref": ref,
                     "alt": alt, "gene": symbol, "kind": kind, "what": what,
                     "inheritance": inheritance, "genotypes": gt}
        out.append(s)
        return s

    mane = {s: by[s].mane for s in by}
    seq = genome.seq
    site("SCN1A", "de_novo_missense", _plant_snv(rng, mane["SCN1A"], "missense"), ("de_novo",),
         "De novo missense in SCN1A (epileptic encephalopathy gene); absent from gnomAD, REVEL high",
         "de novo: heterozygous in the proband, both parents homozygous reference with good depth",
         scores={"damage": 0.95, "cadd": 29.8})
    a = site("CFTR", "compound_het", _plant_snv(rng, mane["CFTR"], "missense"), ("father",),
             "CFTR missense, rare; first hit of a compound heterozygote (paternal)",
             "autosomal recessive, compound heterozygous: paternal allele",
             af=3 / 152_312, gnomad=_gnomad_counts({"nfe": 3}),
             clinvar=("Likely_pathogenic", "criteria_provided,_single_submitter", "Cystic_fibrosis"),
             scores={"damage": 0.88, "cadd": 27.1}, rsid=f"rs{int(rng.integers(10**8, 10**9))}")
    b = site("CFTR", "compound_het", _plant_deletion(rng, mane["CFTR"], seq["chr7"]), ("mother",),
             "CFTR 1-bp deletion (frameshift), absent from gnomAD; second hit of the compound "
             "heterozygote (maternal)",
             "autosomal recessive, compound heterozygous: maternal allele",
             clinvar=("Pathogenic", "criteria_provided,_single_submitter", "Cystic_fibrosis"),
             scores={"cadd": 34.0}, rsid=f"rs{int(rng.integers(10**8, 10**9))}")
    a.planted["partner"], b.planted["partner"] = b.planted["key"], a.planted["key"]
    site("BRCA1", "clinvar_pathogenic", _plant_snv(rng, mane["BRCA1"], "stop_gained"), ("father",),
         "BRCA1 stop-gained, ClinVar Pathogenic (multiple submitters, no conflicts); not in the "
         "panel: a secondary finding",
         "autosomal dominant, heterozygous, inherited from the unaffected father",
         af=2 / 152_312, gnomad=_gnomad_counts({"nfe": 2}),
         clinvar=("Pathogenic", "criteria_provided,_multiple_submitters,_no_conflicts",
                  "Hereditary_breast_ovarian_cancer_syndrome"),
         scores={"cadd": 41.0}, rsid=f"rs{int(rng.integers(10**7, 10**8))}")
    site("ALMS1", "homozygous_recessive", _plant_snv(rng, mane["ALMS1"], "stop_gained"),
         ("father", "mother"),
         "ALMS1 stop-gained, rare (gnomAD AC 6, no homozygotes), homozygous in the proband",
         "autosomal recessive, homozygous: both parents heterozygous carriers",
         af=6 / 152_312, gnomad=_gnomad_counts({"afr": 2, "nfe": 4}),
         clinvar=("Likely_pathogenic", "criteria_provided,_single_submitter", "Alstrom_syndrome"),
         scores={"cadd": 39.0}, rsid=f"rs{int(rng.integers(10**8, 10**9))}")
    site("OTC", "x_linked", _plant_snv(rng, mane["OTC"], "missense"), ("mother",),
         "OTC missense, absent from gnomAD, hemizygous in the son (shown as 1/1, diploid calling)",
         "X-linked recessive: hemizygous in the proband, heterozygous mother, father reference",
         scores={"damage": 0.93, "cadd": 28.4})
    return out


def _decoys(rng, windows: list, genome: _Genome, n: int = 4) -> list[_Site]:
    """Low-depth, low-VAF proband-only calls: the usual false 'de novo' noise."""
    out = []
    while len(out) < n:
        chrom, length = CONTIGS[int(rng.integers(0, len(CONTIGS) - 1))]
        pos = int(rng.integers(TELOMERE_N + 5_000, length - TELOMERE_N - 5_000))
        if any(c == chrom and s - 3_000 <= pos <= e + 3_000 for c, s, e in windows):
            continue
        dp = int(rng.integers(26, 37))
        alt_n = int(rng.integers(6, 9))
        b = genome.seq[chrom][pos - 1]
        out.append(_Site(chrom, pos, b, [_snv_alt(rng, b)], [0.0], decoy_ad=(dp - alt_n, alt_n)))
    return out


# --------------------------------------------------------------------------------------
# reads


def _read_windows(genes: list[_Gene]) -> tuple[list, list]:
    """Target exons (BED4 tuples) and the merged windows around them that get reads."""
    targets = []
    for gene in genes:
        for s, e in sorted(gene.mane.exons):
            targets.append((gene.spec.chrom, s - 1, e, gene.spec.symbol))
    order = {c: i for i, (c, _) in enumerate(CONTIGS)}
    targets.sort(key=lambda t: (order[t[0]], t[1]))
    windows = []
    for chrom, s, e, _ in targets:
        s, e = s - 200, e + 200
        if windows and windows[-1][0] == chrom and s - windows[-1][2] < 1_500:
            windows[-1] = (chrom, windows[-1][1], max(windows[-1][2], e))
        else:
            windows.append((chrom, s, e))
    return targets, windows


def _hap_context(g: str, cs: int, ce: int, variants: list):
    """Haplotype sequence for reference [cs, ce) with ``variants`` applied.

    Returns (uint8 bases, int32 reference position per base, -1 = inserted)."""
    seq_parts, pos_parts = [], []
    cur = cs
    for pos, ref, alt in variants:
        p0 = pos - 1
        seq_parts.append(g[cur:p0])
        pos_parts.append(np.arange(cur, p0, dtype=np.int32))
        # trim the shared suffix first so an indel sits at the left end of the
        # allele, as aligners report it (left-aligned CIGAR)
        r, a = ref, alt
        while r and a and r[-1] == a[-1]:
            r, a = r[:-1], a[:-1]
        m = min(len(r), len(a))
        ref_idx = list(range(p0, p0 + m))            # aligned (match or mismatch)
        ins = [-1] * (len(a) - m)                     # extra ALT bases: insertion
        dels = len(r) - m                             # extra REF bases: deletion
        seq_parts.append(a + ref[len(r):])
        pos_parts.append(np.array(ref_idx + ins + list(range(p0 + m + dels, p0 + len(ref))),
                                  dtype=np.int32))
        cur = p0 + len(ref)
    seq_parts.append(g[cur:ce])
    pos_parts.append(np.arange(cur, ce, dtype=np.int32))
    seq = np.frombuffer("".join(seq_parts).encode(), dtype=np.uint8)
    return seq, np.concatenate(pos_parts)


def _cigar(rp: np.ndarray) -> tuple[int, list]:
    aligned = rp >= 0
    first = int(np.argmax(aligned))
    last = len(rp) - 1 - int(np.argmax(aligned[::-1]))
    cig = []
    if first:
        cig.append((4, first))
    seg = rp[first:last + 1]
    if (seg >= 0).all() and seg[-1] - seg[0] == len(seg) - 1:
        cig.append((0, len(seg)))
    else:
        def add(op, n):
            if cig and cig[-1][0] == op:
                cig[-1] = (op, cig[-1][1] + n)
            else:
                cig.append((op, n))
        prev = None
        for x in seg.tolist():
            if x < 0:
                add(1, 1)
                continue
            if prev is not None and x != prev + 1:
                add(2, x - prev - 1)
            add(0, 1)
            prev = x
    if last < len(rp) - 1:
        cig.append((4, len(rp) - 1 - last))
    return int(rp[first]), cig


def _md_nm(cig: list, ref_start: int, read: np.ndarray, ref: np.ndarray) -> tuple[str, int, int]:
    md, run, nm, qi, ri, score = [], 0, 0, 0, ref_start, 0
    for op, n in cig:
        if op == 0:
            q, r = read[qi:qi + n], ref[ri:ri + n]
            prev = 0
            mism = np.flatnonzero(q != r)
            for m in mism.tolist():
                run += m - prev
                md.append(f"{run}{chr(r[m])}")
                run, prev = 0, m + 1
            run += n - prev
            nm += mism.size
            score += n - 5 * mism.size
            qi += n
            ri += n
        elif op == 1:
            nm += n
            score -= 6 + n
            qi += n
        elif op == 2:
            md.append(f"{run}^{ref[ri:ri + n].tobytes().decode()}")
            run = 0
            nm += n
            score -= 6 + n
            ri += n
        elif op == 4:
            qi += n
    md.append(str(run))
    return "".join(md), nm, max(score, 0)


_CIGAR_CH = "MIDNSHP=X"
_QUALS = np.array([2, 12, 23, 37], dtype=np.uint8)       # NovaSeq RTA3 quality bins
_QUAL_ERR = np.array([0.4, 0.05, 0.005, 0.0002])


def _qual_profile(read_len: int = 150) -> np.ndarray:
    t = np.arange(read_len) / (read_len - 1)
    p2 = 0.001 + 0.012 * t ** 6
    p12 = 0.005 + 0.025 * t ** 3
    p23 = 0.03 + 0.10 * t ** 2
    p = np.stack([p2, p12, p23, 1 - p2 - p12 - p23], axis=1)
    return np.cumsum(p, axis=1)


@dataclass
class _Read:
    name: str
    flag: int
    tid: int
    pos: int
    mapq: int
    cigar: list
    seq: bytes
    qual: np.ndarray
    mate_pos: int
    tlen: int
    mate_cigar: str
    md: str
    nm: int
    score: int
    mate_mapq: int = 60


def _simulate_reads(rng, sample_index: int, sample: str, genome: _Genome, windows: list,
                    sites: list[_Site], depth: float = 30.0):
    """Reads of one sample plus allele depths of the sites inside read windows."""
    read_len = 150
    cum = _qual_profile(read_len)
    tids = {c: i for i, (c, _) in enumerate(CONTIGS)}
    by_chrom = {c: [s for s in sites if s.chrom == c] for c, _ in CONTIGS}
    pos_index = {c: [s.pos for s in by_chrom[c]] for c, _ in CONTIGS}
    flowcell = "H" + "".join(str(x) for x in rng.choice(list("ACDFGHJKLMNPRTVWXY23457"), 4)) + "DSXY"
    run = 300 + 17 * sample_index
    male = sample in MALES
    reads: list[_Read] = []
    frag_id = 0
    for chrom, ws, we in windows:
        g = genome.seq[chrom]
        garr = genome.arr[chrom]
        lo = bisect.bisect_left(pos_index[chrom], ws - 50)
        hi = bisect.bisect_right(pos_index[chrom], we + 50)
        wsites = by_chrom[chrom][lo:hi]
        spans = []
        for s in wsites:
            if ws <= s.pos - 1 < we:
                s.from_reads = True
                s.ad.setdefault(sample, [0] * (len(s.alts) + 1))
                extra = 0 if (len(s.ref) == 1 and all(len(a) == 1 for a in s.alts)) else 1
                spans.append((s.pos - 1 - extra, s.pos - 1 + len(s.ref) + extra, s))
        inside = ([lo for lo, _, _ in spans], spans)
        cs, ce = max(0, ws - 1_200), min(len(g), we + 1_200)
        n_haps = 1 if (male and chrom == "chrX") else 2
        ctx_sites = [s for s in by_chrom[chrom] if cs <= s.pos - 1 and s.end <= ce]
        reps = [r for r in genome.repeats[chrom] if r[1] > cs and r[0] < ce and r[2] < 0.08]
        for h in range(n_haps):
            variants = [(s.pos, s.ref, s.alts[s.haps[sample][h] - 1])
                        for s in ctx_sites if s.haps[sample][h] > 0]
            hseq, hpos = _hap_context(g, cs, ce, variants)
            mono = np.maximum.accumulate(np.where(hpos < 0, -1, hpos))
            n_frag = int(rng.poisson(depth / 2 * (we - ws + 380) / (2 * read_len)))
            fls = np.clip(rng.normal(380, 80, n_frag), 180, 700).astype(int)
            starts = rng.integers(ws - fls + 1, we)
            dup = rng.random(n_frag) < 0.03
            r1_left = rng.random(n_frag) < 0.5
            for fl, start, is_dup, left_is_r1 in zip(fls.tolist(), starts.tolist(), dup.tolist(),
                                                    r1_left.tolist()):
                hs = int(np.searchsorted(mono, start, "left"))
                if hs + fl > len(hseq):
                    continue
                for copy in range(2 if is_dup else 1):
                    frag_id += 1
                    tile = 1101 + (frag_id // 4000) % 78 + 1000 * ((frag_id // 300_000) % 2)
                    name = (f"A00{731 + sample_index}:{run}:{flowcell}:1:{tile}:"
                            f"{int(rng.integers(1000, 32000))}:{int(rng.integers(1000, 37000))}")
                    pair = []
                    for side in (0, 1):
                        a = hs if side == 0 else hs + fl - read_len
                        bases = hseq[a:a + read_len].copy()
                        rp = hpos[a:a + read_len]
                        u = rng.random(read_len)
                        q = _QUALS[(u[:, None] > cum).sum(axis=1)]
                        if side == 1:
                            q = q[::-1]            # cycle 1 is at the right end of a reverse read
                        err = rng.random(read_len) < _QUAL_ERR[np.searchsorted(_QUALS, q)]
                        if err.any():
                            shift = rng.integers(1, 4, int(err.sum()))
                            idx = np.searchsorted(np.frombuffer(b"ACGT", np.uint8), bases[err])
                            bases[err] = np.frombuffer(b"ACGT", np.uint8)[(idx + shift) % 4]
                        rstart, cig = _cigar(rp)
                        md, nm, score = _md_nm(cig, rstart, bases, garr)
                        rlen = sum(n for op, n in cig if op in (0, 2))
                        inrep = max((min(rstart + rlen, e) - max(rstart, s) for s, e, _ in reps),
                                    default=0)
                        mapq = 60
                        if inrep > 110:
                            mapq = int(rng.choice([0, 0, 1, 3, 9, 17, 27, 40, 60]))
                        pair.append([rstart, rlen, cig, bases, q, md, nm, score, mapq])
                        if copy == 0:
                            _count_alleles(inside, sample, h, rstart, rstart + rlen)
                    (ls, llen, lcig, *_), (rs, rlen, rcig, *_) = pair
                    tlen = max(ls + llen, rs + rlen) - min(ls, rs)
                    for side in (0, 1):
                        st, ln, cig, bases, q, md, nm, score, mapq = pair[side]
                        mate = pair[1 - side]
                        is_r1 = (side == 0) == left_is_r1
                        flag = 0x1 | 0x2 | (0x40 if is_r1 else 0x80)
                        flag |= 0x20 if side == 0 else 0x10
                        if copy == 1:
                            flag |= 0x400
                        reads.append(_Read(name, flag, tids[chrom], st, mapq, cig, bases.tobytes(), q,
                                           mate[0], tlen if side == 0 else -tlen,
                                           "".join(f"{n}{_CIGAR_CH[op]}" for op, n in mate[2]),
                                           md, nm, score, mate[8]))
    return reads, flowcell


def _count_alleles(inside: tuple, sample: str, h: int, rs: int, re: int) -> None:
    """Add one read spanning reference [rs, re) to the allele depths of the sites it covers.
    A read counts for an indel only if it also covers a base on each side."""
    starts, spans = inside
    for k in range(bisect.bisect_left(starts, rs), bisect.bisect_right(starts, re)):
        lo, hi, s = spans[k]
        if rs <= lo and hi <= re:
            s.ad[sample][s.haps[sample][h]] += 1


def _write_bam(path: Path, sample: str, reads: list[_Read], flowcell: str, seed: int,
               genome: _Genome) -> None:
    header = {
        "HD": {"VN": "1.6", "SO": "coordinate"},
        "SQ": [{"SN": c, "LN": L, "M5": hashlib.md5(genome.seq[c].encode()).hexdigest()}
               for c, L in CONTIGS],
        "RG": [{"ID": f"{sample}.{flowcell}.1", "SM": sample, "LB": f"{sample}-lib1",
                "PL": "ILLUMINA", "PU": f"{flowcell}.1", "CN": "RareDesk demo"}],
        "PG": [{"ID": "raredesk-demo", "PN": "raredesk-demo", "VN": GENERATOR_VERSION,
                "CL": f"make_demo_case(seed={seed}) (simulated reads, no aligner)"}],
    }
    rg = header["RG"][0]["ID"]
    reads.sort(key=lambda r: (r.tid, r.pos, r.name, r.flag))
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for r in reads:
            a = pysam.AlignedSegment(out.header)
            a.query_name = r.name
            a.flag = r.flag
            a.reference_id = r.tid
            a.reference_start = r.pos
            a.mapping_quality = r.mapq
            a.cigartuples = r.cigar
            a.next_reference_id = r.tid
            a.next_reference_start = r.mate_pos
            a.template_length = r.tlen
            a.query_sequence = r.seq.decode()
            a.query_qualities = array("B", r.qual.tobytes())
            a.set_tags([("NM", r.nm, "i"), ("MD", r.md, "Z"), ("MC", r.mate_cigar, "Z"),
                        ("AS", r.score, "i"), ("MQ", r.mate_mapq, "i"), ("RG", rg, "Z")])
            out.write(a)
    pysam.index(str(path))


# --------------------------------------------------------------------------------------
# genotype calls


def _gt_likelihoods(ad: list, err: float) -> tuple[list, tuple]:
    n = len(ad)
    gts = [(j, k) for k in range(n) for j in range(k + 1)]
    ll = []
    for j, k in gts:
        s = 0.0
        for allele, c in enumerate(ad):
            if c:
                pj = (1 - err) if allele == j else err / (n - 1)
                pk = (1 - err) if allele == k else err / (n - 1)
                s += c * math.log10(0.5 * pj + 0.5 * pk)
        ll.append(s)
    best = max(ll)
    pl = [int(round(-10 * (x - best))) for x in ll]
    return pl, gts[int(np.argmin(pl))]


def _synthetic_ad(rng, site: _Site, sample: str, depth: float) -> list:
    """Allele depths for a site without simulated reads (outside the read windows)."""
    n_alleles = len(site.alts) + 1
    haps = site.haps[sample]
    single = sample in MALES and site.chrom == "chrX"
    mean = depth / 2 if single else depth
    if rng.random() < 0.01:
        mean *= 0.2   # hard-to-sequence spot
    dp = int(rng.negative_binomial(12, 12 / (12 + mean)))
    ad = [0] * n_alleles
    hs = rng.integers(0, 1 if single else 2, dp)
    err = rng.random(dp) < 0.004
    for h, e in zip(hs.tolist(), err.tolist()):
        allele = haps[h]
        if e:
            allele = int(rng.choice([x for x in range(n_alleles) if x != allele]))
        ad[allele] += 1
    return ad


def _call(rng, sites: list[_Site], genome: _Genome) -> list[_Site]:
    kept = []
    for site in sites:
        indel = len(site.ref) != 1 or any(len(a) != 1 for a in site.alts)
        calls = {}
        for sample in SAMPLE_ORDER:
            if site.decoy_ad is not None:
                ad = list(site.decoy_ad) if sample == PROBAND else [int(rng.integers(24, 40)), 0]
            elif site.from_reads:
                ad = site.ad[sample]
            else:
                ad = _synthetic_ad(rng, site, sample, 30.0)
            dp = sum(ad)
            if dp == 0:
                calls[sample] = (None, ad, 0, None, [0] * (len(ad) * (len(ad) + 1) // 2))
                continue
            pl, gt = _gt_likelihoods(ad, 0.02 if indel else 0.01)
            gq = min(99, sorted(pl)[1])
            calls[sample] = (gt, ad, dp, gq, pl)
        if not any(c[0] and c[0] != (0, 0) for c in calls.values()):
            if site.planted:
                raise RuntimeError(f"planted site {site.planted['key']} was not called")
            continue
        site.calls = calls
        if site.planted:
            for sample, want in site.planted["genotypes"].items():
                got = calls[sample][0]
                if got is None or f"{got[0]}/{got[1]}" != want:
                    raise RuntimeError(f"planted {site.planted['key']}: {sample} called {got}, "
                                       f"expected {want}")
        kept.append(site)
    return kept


# --------------------------------------------------------------------------------------
# annotation (a small VEP look-alike over the synthetic gene models)

_SO = (("transcript_ablation", "HIGH"), ("splice_acceptor_variant", "HIGH"),
       ("splice_donor_variant", "HIGH"), ("stop_gained", "HIGH"), ("frameshift_variant", "HIGH"),
       ("stop_lost", "HIGH"), ("start_lost", "HIGH"), ("inframe_insertion", "MODERATE"),
       ("inframe_deletion", "MODERATE"), ("missense_variant", "MODERATE"),
       ("protein_altering_variant", "MODERATE"), ("splice_donor_5th_base_variant", "LOW"),
       ("splice_region_variant", "LOW"), ("splice_donor_region_variant", "LOW"),
       ("splice_polypyrimidine_tract_variant", "LOW"), ("start_retained_variant", "LOW"),
       ("stop_retained_variant", "LOW"), ("synonymous_variant", "LOW"),
       ("coding_sequence_variant", "MODIFIER"), ("5_prime_UTR_variant", "MODIFIER"),
       ("3_prime_UTR_variant", "MODIFIER"), ("non_coding_transcript_exon_variant", "MODIFIER"),
       ("intron_variant", "MODIFIER"), ("non_coding_transcript_variant", "MODIFIER"),
       ("upstream_gene_variant", "MODIFIER"), ("downstream_gene_variant", "MODIFIER"),
       ("regulatory_region_variant", "MODIFIER"), ("intergenic_variant", "MODIFIER"))
_RANK = {t: i for i, (t, _) in enumerate(_SO)}
_IMPACT = dict(_SO)


def _vep_alleles(ref: str, alts: list) -> list:
    """VEP's allele strings: the first base is stripped only when every allele
    (REF and all ALTs) starts with the same base; an emptied allele is ``-``."""
    if len({a[0] for a in [ref, *alts]}) == 1:
        return [a[1:] or "-" for a in alts]
    return list(alts)


def _trim(pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    """Minimal allele: common prefix, then common suffix removed. For an insertion
    ``start`` is the base after the insertion point and ``ref`` is empty."""
    while ref and alt and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    while ref and alt and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    return pos, ref, alt


def _shift(g: str, start: int, ref: str, alt: str, direction: int) -> tuple[int, str, str]:
    """Shift an indel (1-based ``start``) as far as possible 5'->3' in ``direction``."""
    if ref and not alt:   # deletion of g[start-1 : start-1+n]
        n = len(ref)
        s = start
        if direction > 0:
            while s - 1 + n < len(g) and g[s - 1 + n] == g[s - 1]:
                s += 1
        else:
            while s >= 2 and g[s - 2] == g[s - 2 + n]:
                s -= 1
        return s, g[s - 1:s - 1 + n], ""
    if alt and not ref:   # insertion before 1-based base ``start``
        p, seq = start - 1, alt   # after 1-based base p
        if direction > 0:
            while p < len(g) and g[p] == seq[0]:
                seq, p = seq[1:] + g[p], p + 1
        else:
            while p >= 1 and g[p - 1] == seq[-1]:
                seq, p = g[p - 1] + seq[:-1], p - 1
        return p + 1, "", seq
    return start, ref, alt


def _hgvsc(tx: _Transcript, g: str, start: int, ref: str, alt: str) -> str:
    pre = tx.hgvs_prefix
    st = tx.strand
    if len(ref) == 1 and len(alt) == 1:
        r, a = (ref, alt) if st == 1 else (_revcomp(ref), _revcomp(alt))
        return f"{pre}{tx.c_pos(start)}{r}>{a}"
    start, ref, alt = _shift(g, start, ref, alt, st)
    try:
        if ref and not alt:
            lo, hi = start, start + len(ref) - 1
            a, b = (lo, hi) if st == 1 else (hi, lo)
            return f"{pre}{tx.c_pos(a)}del" if lo == hi else f"{pre}{tx.c_pos(a)}_{tx.c_pos(b)}del"
        if alt and not ref:
            n = len(alt)
            p = start - 1  # insertion after base p
            if st == 1 and g[p - n:p] == alt:
                lo, hi = p - n + 1, p
                return (f"{pre}{tx.c_pos(lo)}dup" if n == 1
                        else f"{pre}{tx.c_pos(lo)}_{tx.c_pos(hi)}dup")
            if st == -1 and g[p:p + n] == alt:
                lo, hi = p + 1, p + n
                return (f"{pre}{tx.c_pos(hi)}dup" if n == 1
                        else f"{pre}{tx.c_pos(hi)}_{tx.c_pos(lo)}dup")
            if st == 1:
                return f"{pre}{tx.c_pos(p)}_{tx.c_pos(p + 1)}ins{alt}"
            return f"{pre}{tx.c_pos(p + 1)}_{tx.c_pos(p)}ins{_revcomp(alt)}"
        lo, hi = start, start + len(ref) - 1
        a, b = (lo, hi) if st == 1 else (hi, lo)
        seq = alt if st == 1 else _revcomp(alt)
        return f"{pre}{tx.c_pos(a)}_{tx.c_pos(b)}delins{seq}"
    except ValueError:
        return ""  # shifted outside the transcript


def _protein_diff(ref_p: str, alt_p: str) -> str:
    i = 0
    while i < min(len(ref_p), len(alt_p)) and ref_p[i] == alt_p[i]:
        i += 1
    j = 0
    while (j < min(len(ref_p), len(alt_p)) - i and ref_p[len(ref_p) - 1 - j] == alt_p[len(alt_p) - 1 - j]):
        j += 1
    rm, am = ref_p[i:len(ref_p) - j], alt_p[i:len(alt_p) - j]
    if not rm and am:
        if i >= len(am) and ref_p[i - len(am):i] == am:
            lo, hi = i - len(am) + 1, i
            return (f"p.{_aa3(ref_p[lo - 1])}{lo}dup" if lo == hi
                    else f"p.{_aa3(ref_p[lo - 1])}{lo}_{_aa3(ref_p[hi - 1])}{hi}dup")
        return f"p.{_aa3(ref_p[i - 1])}{i}_{_aa3(ref_p[i])}{i + 1}ins{_aa3(am)}"
    if rm and not am:
        lo, hi = i + 1, i + len(rm)
        return (f"p.{_aa3(rm[0])}{lo}del" if lo == hi
                else f"p.{_aa3(rm[0])}{lo}_{_aa3(rm[-1])}{hi}del")
    if len(rm) == 1 and len(am) == 1:
        return f"p.{_aa3(rm)}{i + 1}{_aa3(am)}"
    lo, hi = i + 1, i + len(rm)
    head = f"{_aa3(rm[0])}{lo}" if lo == hi else f"{_aa3(rm[0])}{lo}_{_aa3(rm[-1])}{hi}"
    return f"p.{head}delins{_aa3(am)}"


def _coding_effect(tx: _Transcript, start: int, ref: str, alt: str, res: dict) -> None:
    """Protein-level consequence of a variant lying wholly in the CDS exons."""
    st = tx.strand
    alt_t = alt if st == 1 else _revcomp(alt)
    cs, ce = tx.cds_start, tx.cds_start + tx.cds_len - 1
    if ref:
        c1 = tx.exon_of(start)[1]
        c2 = tx.exon_of(start + len(ref) - 1)[1]
        a, b = min(c1, c2), max(c1, c2)
        new = tx.cdna[:a - 1] + alt_t + tx.cdna[b:]
        if a < cs or b > ce:
            res["terms"].append("coding_sequence_variant")
            return
        res["cds_pos"] = f"{a - cs + 1}" if a == b else f"{a - cs + 1}-{b - cs + 1}"
        fc, lc = (a - cs) // 3, (b - cs) // 3
        delta = len(alt_t) - (b - a + 1)
    else:
        x = tx.exon_of(start - 1 if st == 1 else start)[1]   # cDNA base 5' of the insertion
        if x < cs or x >= ce:
            res["terms"].append("5_prime_UTR_variant" if x < cs else "3_prime_UTR_variant")
            return
        new = tx.cdna[:x] + alt_t + tx.cdna[x:]
        res["cds_pos"] = f"{x - cs + 1}-{x - cs + 2}"
        fc = lc = (x - cs) // 3
        a, b = x + 1, x
        delta = len(alt_t)
    ref_cds = tx.cdna[cs - 1:ce]
    ref_p = _translate(ref_cds)
    alt_p = _translate(new[cs - 1:])
    res["prot_pos"] = f"{fc + 1}" if fc == lc else f"{fc + 1}-{lc + 1}"
    pid = f"{tx.protein_id}.{tx.version}:"
    # VEP-style codons: changed bases upper case, e.g. cGt/cAt, gAt/gt, tca/tcTGa
    rc = ref_cds[3 * fc:3 * lc + 3]
    off = a - cs - 3 * fc
    n_ref = b - a + 1
    ref_str = rc[:off].lower() + rc[off:off + n_ref].upper() + rc[off + n_ref:].lower()
    alt_str = rc[:off].lower() + alt_t.upper() + rc[off + n_ref:].lower()
    res["codons"] = f"{ref_str}/{alt_str or '-'}"
    ref_aas = ref_p[fc:lc + 1]
    if delta % 3:
        res["terms"].append("frameshift_variant")
        res["aa"] = f"{ref_aas}/X"
        i = 0
        while i < min(len(ref_p), len(alt_p)) and ref_p[i] == alt_p[i]:
            i += 1
        if i < len(ref_p) and i < len(alt_p):
            if alt_p[i] == "*":
                res["hgvsp"] = f"{pid}p.{_aa3(ref_p[i])}{i + 1}Ter"
            elif alt_p.endswith("*"):
                res["hgvsp"] = f"{pid}p.{_aa3(ref_p[i])}{i + 1}{_aa3(alt_p[i])}fsTer{len(alt_p) - i}"
            else:
                res["hgvsp"] = f"{pid}p.{_aa3(ref_p[i])}{i + 1}{_aa3(alt_p[i])}fsTer?"
        return
    alt_aas = "".join(_CODON.get(alt_str[k:k + 3].upper(), "X") for k in range(0, len(alt_str) - 2, 3))
    res["aa"] = ref_aas if ref_aas == alt_aas else f"{ref_aas}/{alt_aas or '-'}"
    stop_i = len(ref_p) - 1
    if alt_p == ref_p:
        res["terms"].append("stop_retained_variant" if fc == stop_i else "synonymous_variant")
        res["hgvsp"] = f"{pid}p.{_aa3(ref_p[fc])}{fc + 1}%3D"
        return
    if fc == 0 and not alt_p.startswith("M"):
        res["terms"].append("start_lost")
        res["hgvsp"] = f"{pid}p.Met1?"
        return
    i = 0
    while i < min(len(ref_p), len(alt_p)) and ref_p[i] == alt_p[i]:
        i += 1
    if i == stop_i and i < len(alt_p):
        res["terms"].append("stop_lost")
        ext = f"{len(alt_p) - 1 - stop_i}" if alt_p.endswith("*") else "?"
        res["hgvsp"] = f"{pid}p.Ter{stop_i + 1}{_aa3(alt_p[i])}extTer{ext}"
        return
    if i < len(alt_p) and alt_p[i] == "*" and len(alt_p) < len(ref_p):
        res["terms"].append("stop_gained")
        if delta < 0:
            res["terms"].append("inframe_deletion")
        elif delta > 0:
            res["terms"].append("inframe_insertion")
        res["hgvsp"] = f"{pid}p.{_aa3(ref_p[i])}{i + 1}Ter"
        return
    res["terms"].append("missense_variant" if delta == 0 else
                        "inframe_deletion" if delta < 0 else "inframe_insertion")
    res["hgvsp"] = pid + _protein_diff(ref_p, alt_p)


def _tx_effect(tx: _Transcript, g: str, start: int, ref: str, alt: str) -> dict | None:
    """VEP-like fields of one trimmed allele on one transcript (None if > 5 kb away)."""
    st = tx.strand
    lo_g, hi_g = (start - 1, start) if not ref else (start, start + len(ref) - 1)
    res = {"terms": [], "exon": "", "intron": "", "hgvsc": "", "hgvsp": "", "cdna_pos": "",
           "cds_pos": "", "prot_pos": "", "aa": "", "codons": "", "distance": "",
           "splice_dist": None}
    if hi_g < tx.lo or lo_g > tx.hi:
        dist = tx.lo - hi_g if hi_g < tx.lo else lo_g - tx.hi
        if dist > 5_000:
            return None
        upstream = (hi_g < tx.lo) == (st == 1)
        res["terms"].append("upstream_gene_variant" if upstream else "downstream_gene_variant")
        res["distance"] = str(dist)
        return res
    positions = [lo_g, hi_g] if not ref else list(range(lo_g, hi_g + 1))
    positions = [p for p in positions if tx.lo <= p <= tx.hi]
    exonic, intronic = [], []
    n_ex = len(tx.exons)
    terms = set()
    for p in positions:
        ex = tx.exon_of(p)
        if ex:
            exonic.append(ex)
            k = ex[0]
            s, e = tx.exons[k - 1]
            d5 = (p - s) if st == 1 else (e - p)       # bases from the exon's 5' end
            d3 = (e - p) if st == 1 else (p - s)
            if (k > 1 and d5 < 3) or (k < n_ex and d3 < 3):
                terms.add("splice_region_variant")
            continue
        intr = tx.intron_of(p)
        intronic.append(intr)
        _, dd, da, _, _ = intr
        if dd <= 2:
            terms.add("splice_donor_variant")
        elif da <= 2:
            terms.add("splice_acceptor_variant")
        else:
            if dd == 5:
                terms.add("splice_donor_5th_base_variant")
            elif 3 <= dd <= 6:
                terms.add("splice_donor_region_variant")
            if dd <= 8 or da <= 8:
                terms.add("splice_region_variant")
            if 3 <= da <= 17:
                terms.add("splice_polypyrimidine_tract_variant")
            terms.add("intron_variant")
    if intronic and not exonic:
        res["intron"] = f"{intronic[0][0]}/{n_ex - 1}"
        res["splice_dist"] = min(min(i[1], i[2]) for i in intronic)
    if exonic:
        res["exon"] = f"{min(e[0] for e in exonic)}/{n_ex}" if len({e[0] for e in exonic}) == 1 else \
            f"{min(e[0] for e in exonic)}-{max(e[0] for e in exonic)}/{n_ex}"
        cds = [e[1] for e in exonic]
        res["cdna_pos"] = (f"{min(cds)}" if ref and min(cds) == max(cds) else f"{min(cds)}-{max(cds)}")
        res["splice_dist"] = 0 if "splice_region_variant" in terms else None
    if "splice_donor_variant" in terms or "splice_acceptor_variant" in terms:
        terms.discard("intron_variant")
        terms.discard("splice_region_variant")
        terms.discard("splice_polypyrimidine_tract_variant")
        terms.discard("splice_donor_region_variant")
    if ref:
        all_exonic = bool(exonic) and not intronic
    else:  # an insertion is exonic when both flanking bases are adjacent in the cDNA
        all_exonic = len(exonic) == 2 and abs(exonic[0][1] - exonic[1][1]) == 1
    if exonic:
        cd = [e[1] for e in exonic]
        if not tx.coding:
            terms.add("non_coding_transcript_exon_variant")
        else:
            cds_lo, cds_hi = tx.cds_start, tx.cds_start + tx.cds_len - 1
            if ref:
                utr5, utr3 = max(cd) < cds_lo, min(cd) > cds_hi
            else:  # between cDNA bases min(cd) and max(cd)
                utr5, utr3 = max(cd) <= cds_lo, min(cd) >= cds_hi
            if utr5:
                terms.add("5_prime_UTR_variant")
            elif utr3:
                terms.add("3_prime_UTR_variant")
            elif all_exonic:
                sub = {"terms": []}
                _coding_effect(tx, start, ref, alt, sub)
                terms.update(sub["terms"])
                for k in ("hgvsp", "cds_pos", "prot_pos", "aa", "codons"):
                    if sub.get(k):
                        res[k] = sub[k]
            else:
                terms.add("coding_sequence_variant")
    if not tx.coding and intronic:
        terms.add("non_coding_transcript_variant")
    res["terms"] = sorted(terms, key=_RANK.__getitem__)
    if "intron_variant" in terms or exonic or terms & {"splice_donor_variant", "splice_acceptor_variant"}:
        res["hgvsc"] = _hgvsc(tx, g, start, ref, alt)
    return res


def _fmt_af(x) -> str:
    if x is None:
        return ""
    return f"{x:.4g}" if x >= 1e-4 else f"{x:.3g}"


def _gnomad_for(rng, af: float, exonic: bool) -> dict | None:
    if af <= 0:
        return None
    # population frequencies scatter around the global one on the logit scale
    logit = math.log(af / (1 - af)) + rng.normal(0, 0.6, len(GNOMAD_POPS))
    pops, ac_total, homs, an_total = {}, 0, 0, 0
    an_scale = float(rng.uniform(0.97, 1.0))
    for p, lg in zip(GNOMAD_POPS, logit.tolist()):
        an = int(GNOMAD_POP_AN[p] * an_scale) // 2 * 2
        ac = min(int(rng.poisson(an / (1 + math.exp(-lg)))), an)
        pops[p] = ac / an
        homs += int(round(an / 2 * pops[p] ** 2))
        ac_total += ac
        an_total += an
    an_o = int(GNOMAD_OTHER_AN * an_scale) // 2 * 2
    ac_total += int(rng.poisson(af * an_o))
    an_total += an_o
    if ac_total == 0:
        ac_total = 1
        pops["nfe"] = 1 / (int(GNOMAD_POP_AN["nfe"] * an_scale) // 2 * 2)
    exome_af = None
    if exonic:
        exome_af = int(rng.poisson(af * 250_000)) / 250_000 or None
    return {"ac": ac_total, "an": an_total, "af": ac_total / an_total, "pops": pops,
            "popmax": max(pops[p] for p in POPMAX_POPS), "nhomalt": homs, "exome_af": exome_af}


_SIG_VEP = {"Pathogenic": "pathogenic", "Likely_pathogenic": "likely_pathogenic",
            "Uncertain_significance": "uncertain_significance", "Likely_benign": "likely_benign",
            "Benign": "benign", "Benign/Likely_benign": "benign/likely_benign",
            "Conflicting_classifications_of_pathogenicity": "conflicting_interpretations_of_pathogenicity"}


def _annotate(rng, sites: list[_Site], genes: list[_Gene], regulatory: dict,
              genome: _Genome) -> None:
    by_chrom = {c: [g for g in genes if g.spec.chrom == c] for c, _ in CONTIGS}
    for site in sites:
        g = genome.seq[site.chrom]
        vep_alleles = _vep_alleles(site.ref, site.alts)
        entries = []
        site.gnomad = site.gnomad or [None] * len(site.alts)
        for ai, alt in enumerate(site.alts):
            start, r, a = _trim(site.pos, site.ref, alt)
            effects = []
            for gene in by_chrom[site.chrom]:
                for tx in gene.transcripts:
                    eff = _tx_effect(tx, g, start, r, a)
                    if eff is not None:
                        effects.append((gene, tx, eff))
            lo_g, hi_g = (start - 1, start) if not r else (start, start + len(r) - 1)
            regs = [f for f in regulatory[site.chrom] if f[0] <= hi_g and lo_g <= f[1]]
            terms_all = [t for _, _, e in effects for t in e["terms"]]
            worst = min(terms_all, key=_RANK.__getitem__) if terms_all else (
                "regulatory_region_variant" if regs else "intergenic_variant")
            exonic_near = any(e["exon"] or (e["splice_dist"] is not None and e["splice_dist"] <= 50)
                              for _, _, e in effects)
            if site.gnomad[ai] is None and site.planted is None and site.decoy_ad is None:
                site.gnomad[ai] = _gnomad_for(rng, site.af[ai], exonic_near)
            gn = site.gnomad[ai]
            if gn and site.rsid == "." and rng.random() < 0.93:
                site.rsid = f"rs{int(rng.integers(10**6, 2 * 10**9))}"
            forced = site.scores.get(ai, {})
            rare = gn is None or gn["af"] < 0.001
            damage = forced.get("damage")
            if damage is None:
                damage = float(rng.beta(2.2, 2.2) if rare else rng.beta(1.3, 5.5) if gn["af"] > 0.01
                               else rng.beta(1.6, 3.5))
            cadd = forced.get("cadd")
            if cadd is None:
                cadd = {"HIGH": rng.uniform(30, 45), "MODERATE": 10 + 22 * damage + rng.normal(0, 1.5)}.get(
                    _IMPACT[worst], None)
                if cadd is None:
                    cadd = (rng.uniform(3, 14) if worst in ("synonymous_variant", "5_prime_UTR_variant",
                                                           "3_prime_UTR_variant", "splice_region_variant")
                            else rng.exponential(3.0))
            cadd = float(min(max(cadd, 0.001), 60))
            revel = min(1, max(0, damage + rng.normal(0, 0.05)))
            am = min(1, max(0, damage + rng.normal(0, 0.07)))
            sift = min(1, max(0, (1 - damage) ** 2.5 + rng.normal(0, 0.02)))
            pph = min(1, max(0, damage + rng.normal(0, 0.08)))
            if forced.get("damage"):
                revel, am, sift, pph = damage, min(1, damage + 0.03), 0.0, 0.999
            spliceai_gene = {}
            for gene, tx, eff in effects:
                if not tx.canonical or gene.spec.symbol in spliceai_gene:
                    continue
                sd = eff["splice_dist"]
                vals = [0.0, 0.0, 0.0, 0.0]  # AG AL DG DL
                if "splice_donor_variant" in eff["terms"]:
                    vals[3] = rng.uniform(0.7, 1.0)
                elif "splice_acceptor_variant" in eff["terms"]:
                    vals[1] = rng.uniform(0.7, 1.0)
                elif sd is not None and sd <= 8 and rng.random() < 0.4:
                    vals[int(rng.integers(0, 4))] = rng.uniform(0.05, 0.5)
                elif rng.random() < 0.05:
                    vals[int(rng.integers(0, 4))] = rng.uniform(0.01, 0.1)
                spliceai_gene[gene.spec.symbol] = [f"{v:.2f}" for v in vals]
            clin = site.clinvar
            if clin is None and site.planted is None and len(site.alts) == 1 and gn is not None:
                clin = _random_clinvar(rng, worst, gn["af"], effects)
                site.clinvar = clin
            clin_vep = _SIG_VEP.get(clin[0], "") if clin else ""
            max_af = max([gn["popmax"], max(gn["pops"].values()), gn["exome_af"] or 0]) if gn else None
            common = {"Allele": vep_alleles[ai], "Existing_variation": site.rsid if site.rsid != "." else "",
                      "gnomADe_AF": _fmt_af(gn["exome_af"]) if gn else "",
                      "gnomADg_AF": _fmt_af(gn["af"]) if gn else "",
                      "MAX_AF": _fmt_af(max_af) if gn else "",
                      "CADD_PHRED": f"{cadd:.3g}", "CLIN_SIG": clin_vep}
            if not effects:
                if regs:
                    for lo, hi, rid, kind in regs:
                        entries.append(_csq_entry(common, {"Consequence": "regulatory_region_variant",
                                                           "IMPACT": "MODIFIER",
                                                           "Feature_type": "RegulatoryFeature",
                                                           "Feature": rid, "BIOTYPE": kind}))
                else:
                    entries.append(_csq_entry(common, {"Consequence": "intergenic_variant",
                                                       "IMPACT": "MODIFIER"}))
                continue
            for gene, tx, eff in effects:
                terms = eff["terms"]
                f = {"Consequence": "&".join(terms), "IMPACT": _IMPACT[terms[0]],
                     "SYMBOL": gene.spec.symbol, "Gene": gene.gene_id, "Feature_type": "Transcript",
                     "Feature": tx.tx_id, "BIOTYPE": tx.biotype, "EXON": eff["exon"],
                     "INTRON": eff["intron"], "HGVSc": eff["hgvsc"], "HGVSp": eff["hgvsp"],
                     "cDNA_position": eff["cdna_pos"], "CDS_position": eff["cds_pos"],
                     "Protein_position": eff["prot_pos"], "Amino_acids": eff["aa"],
                     "Codons": eff["codons"], "DISTANCE": eff["distance"],
                     "STRAND": "1" if tx.strand == 1 else "-1", "SYMBOL_SOURCE": "HGNC",
                     "HGNC_ID": f"HGNC:{gene.spec.hgnc}", "CANONICAL": "YES" if tx.canonical else "",
                     "MANE_SELECT": tx.mane}
                if "missense_variant" in terms:
                    f["SIFT"] = (f"deleterious({sift:.2f})" if sift < 0.05 else f"tolerated({sift:.2f})")
                    f["PolyPhen"] = ("probably_damaging" if pph >= 0.909 else "possibly_damaging"
                                     if pph >= 0.447 else "benign") + f"({pph:.3f})"
                    f["REVEL"] = f"{revel:.3f}"
                    if tx.canonical:
                        f["am_pathogenicity"] = f"{am:.4f}"
                        f["am_class"] = ("likely_benign" if am < 0.34 else "likely_pathogenic"
                                         if am > 0.564 else "ambiguous")
                sa = spliceai_gene.get(gene.spec.symbol)
                if sa:
                    (f["SpliceAI_pred_DS_AG"], f["SpliceAI_pred_DS_AL"], f["SpliceAI_pred_DS_DG"],
                     f["SpliceAI_pred_DS_DL"]) = sa
                entries.append(_csq_entry(common, f))
                if site.planted and tx.canonical and ai == 0:
                    site.planted["hgvsc"] = eff["hgvsc"]
                    site.planted["hgvsp"] = eff["hgvsp"]
                    site.planted["consequence"] = "&".join(terms)
            for lo, hi, rid, kind in regs:
                entries.append(_csq_entry(common, {"Consequence": "regulatory_region_variant",
                                                   "IMPACT": "MODIFIER", "Feature_type": "RegulatoryFeature",
                                                   "Feature": rid, "BIOTYPE": kind}))
        site.csq = ",".join(entries)


def _csq_entry(common: dict, f: dict) -> str:
    vals = dict(common)
    vals.update(f)
    return "|".join(str(vals.get(k, "")) for k in CSQ_FIELDS)


def _random_clinvar(rng, worst: str, af: float, effects: list):
    genic = [e for _, tx, e in effects if tx.canonical]
    if not genic:
        return None
    disease = effects[0][0].spec.disease
    coding = _RANK[worst] <= _RANK["3_prime_UTR_variant"]
    if not coding and rng.random() > 0.03:
        return None
    if coding and rng.random() > 0.45:
        return None
    if af > 0.01:
        sig, rev = [("Benign", "criteria_provided,_multiple_submitters,_no_conflicts"),
                    ("Benign/Likely_benign", "criteria_provided,_multiple_submitters,_no_conflicts"),
                    ("Likely_benign", "criteria_provided,_single_submitter"),
                    ("Benign", "reviewed_by_expert_panel")][int(rng.choice(4, p=[0.45, 0.3, 0.2, 0.05]))]
        return sig, rev, "not_specified|not_provided"
    sig, rev = [("Uncertain_significance", "criteria_provided,_single_submitter"),
                ("Conflicting_classifications_of_pathogenicity",
                 "criteria_provided,_conflicting_classifications"),
                ("Likely_benign", "criteria_provided,_single_submitter"),
                ("Uncertain_significance", "no_assertion_criteria_provided")][
        int(rng.choice(4, p=[0.5, 0.2, 0.2, 0.1]))]
    return sig, rev, disease if sig != "Likely_benign" else "not_provided"


# --------------------------------------------------------------------------------------
# writers


def _vcf_header(seed: int) -> list[str]:
    h = ["##fileformat=VCFv4.2", f"##fileDate={FILE_DATE}",
         "##source=RareDesk demo generator (synthetic)",
         f"##raredesk_demo=<version={GENERATOR_VERSION},seed={seed},note=\"all data simulated; "
         "gene symbols and HGNC ids are real, coordinates and ENSG9/ENST9/NM_9 ids are invented\">",
         f"##reference={REFERENCE_NAME}"]
    h += [f"##contig=<ID={c},length={L}>" for c, L in CONTIGS]
    h += ['##FILTER=<ID=PASS,Description="All filters passed">',
          '##FILTER=<ID=LowQual,Description="Low quality (QUAL < 30)">']
    info = [
        ("AC", "A", "Integer", "Allele count in genotypes, for each ALT allele, in the same order as listed"),
        ("AF", "A", "Float", "Allele Frequency, for each ALT allele, in the same order as listed"),
        ("AN", "1", "Integer", "Total number of alleles in called genotypes"),
        ("DP", "1", "Integer", "Approximate read depth; some reads may have been filtered"),
        ("FS", "1", "Float", "Phred-scaled p-value using Fisher's exact test to detect strand bias"),
        ("MQ", "1", "Float", "RMS Mapping Quality"),
        ("QD", "1", "Float", "Variant Confidence/Quality by Depth"),
        ("SOR", "1", "Float", "Symmetric Odds Ratio of 2x2 contingency table to detect strand bias"),
        ("CSQ", ".", "String", "Consequence annotations from Ensembl VEP. Format: " + "|".join(CSQ_FIELDS)),
        ("gnomAD_AC", "A", "Integer", "gnomAD genomes: alternate allele count"),
        ("gnomAD_AN", "1", "Integer", "gnomAD genomes: total number of alleles"),
        ("gnomAD_AF", "A", "Float", "gnomAD genomes: alternate allele frequency"),
        ("gnomAD_AF_popmax", "A", "Float",
         "gnomAD genomes: maximum allele frequency across populations (excluding bottlenecked ones)"),
    ]
    names = {"afr": "African/African American", "amr": "Latino/Admixed American",
             "asj": "Ashkenazi Jewish", "eas": "East Asian", "fin": "Finnish",
             "nfe": "Non-Finnish European", "sas": "South Asian"}
    for p in GNOMAD_POPS:
        info.append((f"gnomAD_AF_{p}", "A", "Float", f"gnomAD genomes: alternate allele frequency in {names[p]}"))
    info += [
        ("gnomAD_nhomalt", "A", "Integer", "gnomAD genomes: count of homozygous individuals"),
        ("CLNSIG", ".", "String", "ClinVar: aggregate germline classification for this single variant"),
        ("CLNREVSTAT", ".", "String", "ClinVar: review status for the aggregate germline classification"),
        ("CLNDN", ".", "String", "ClinVar: preferred disease name(s), separated by '|'"),
    ]
    h += [f'##INFO=<ID={i},Number={n},Type={t},Description="{d}">' for i, n, t, d in info]
    h += ['##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
          '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths for the ref and alt alleles in the order listed">',
          '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Approximate read depth (reads with MQ=255 or with bad mates are filtered)">',
          '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype Quality">',
          '##FORMAT=<ID=PL,Number=G,Type=Integer,Description="Normalized, Phred-scaled likelihoods for genotypes as defined in the VCF specification">']
    h += ['##VEP="v110" note="CSQ simulated by the RareDesk demo generator over synthetic gene models; VEP was not run"',
          f"##PEDIGREE=<Child={PROBAND},Mother={MOTHER},Father={FATHER}>"]
    h.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(SAMPLE_ORDER))
    return h


def _vcf_line(rng, site: _Site, genome: _Genome) -> str:
    calls = site.calls
    n_alt = len(site.alts)
    ac = [0] * n_alt
    an = 0
    qual = 0.0
    carrier_dp = 0
    cols = []
    for sample in SAMPLE_ORDER:
        gt, ad, dp, gq, pl = calls[sample]
        if gt is None:
            cols.append(f"./.:{','.join(map(str, ad))}:0:.:{','.join(map(str, pl))}")
            continue
        an += 2
        for x in gt:
            if x:
                ac[x - 1] += 1
        if gt != (0, 0):
            qual += pl[0] * 0.93
            carrier_dp += dp
        cols.append(f"{gt[0]}/{gt[1]}:{','.join(map(str, ad))}:{dp}:{gq}:{','.join(map(str, pl))}")
    qual = max(qual * float(rng.uniform(0.9, 1.1)), 5.0)
    dp_total = sum(calls[s][2] for s in SAMPLE_ORDER)
    in_rep = any(s <= site.pos - 1 < e and d < 0.08 for s, e, d in genome.repeats[site.chrom])
    mq = float(rng.uniform(38, 58)) if in_rep else 60.0
    info = [f"AC={','.join(map(str, ac))}",
            "AF=" + ",".join(f"{x / an:.3f}" if an else "0" for x in ac), f"AN={an}",
            f"DP={dp_total}", f"FS={rng.exponential(1.5):.3f}", f"MQ={mq:.2f}",
            f"QD={qual / max(carrier_dp, 1):.2f}", f"SOR={rng.uniform(0.3, 1.6):.3f}",
            f"CSQ={site.csq}"]
    gn = site.gnomad
    if any(gn):
        def per_alt(fn):
            return ",".join(fn(x) if x else "." for x in gn)

        def g6(x: float) -> str:
            return f"{x:.6g}"

        info += [f"gnomAD_AC={per_alt(lambda x: str(x['ac']))}",
                 f"gnomAD_AN={next(x['an'] for x in gn if x)}",
                 f"gnomAD_AF={per_alt(lambda x: g6(x['af']))}",
                 f"gnomAD_AF_popmax={per_alt(lambda x: g6(x['popmax']))}"]
        for p in GNOMAD_POPS:
            info.append(f"gnomAD_AF_{p}=" + per_alt(lambda x: g6(x["pops"][p])))
        info.append(f"gnomAD_nhomalt={per_alt(lambda x: str(x['nhomalt']))}")
    if site.clinvar:
        sig, rev, dn = site.clinvar
        info += [f"CLNSIG={sig}", f"CLNREVSTAT={rev}", f"CLNDN={dn}"]
    filt = "PASS" if qual >= 30 else "LowQual"
    return "\t".join([site.chrom, str(site.pos), site.rsid, site.ref, ",".join(site.alts),
                      f"{qual:.2f}", filt, ";".join(info), "GT:AD:DP:GQ:PL"] + cols)


def _write_reference(path: Path, genome: _Genome) -> None:
    plain = path.with_suffix("")  # .fa
    with open(plain, "w", encoding="ascii", newline="\n") as fh:
        for chrom, _ in CONTIGS:
            s = genome.seq[chrom]
            fh.write(f">{chrom}\n")
            for i in range(0, len(s), 60):
                fh.write(s[i:i + 60] + "\n")
    pysam.tabix_compress(str(plain), str(path), force=True)
    plain.unlink()
    pysam.faidx(str(path))


# --------------------------------------------------------------------------------------
# entry point


def make_demo_case(out_dir: str | Path, seed: int = DEFAULT_SEED) -> DemoFiles:
    """Write a synthetic, self-consistent trio rare-disease case to ``out_dir``.

    Parameters
    ----------
    out_dir : str or Path
        Folder to write to (created if missing; existing demo files are replaced).
    seed : int
        The same seed gives byte-identical FASTA, VCF, PED, BED and panel files
        (and BAMs with identical records).

    Returns
    -------
    DemoFiles
        Paths of every file, the sample names and the planted findings.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    def rng(k: int):
        return np.random.default_rng([seed, k])

    arrs, repeats, microsats = _build_reference(rng(1))
    genes = _build_genes(rng(2), arrs)
    seqs = {c: arrs[c].tobytes().decode("ascii") for c, _ in CONTIGS}
    genome = _Genome(seqs, arrs, repeats, microsats)
    _finish_transcripts(genes, seqs)
    regulatory = _regulatory_features(rng(3), genes)
    targets, windows = _read_windows(genes)
    trans = _Transmission(rng(4))
    planted = _plant(rng(5), genes, genome, trans)
    decoys = _decoys(rng(6), windows, genome)
    blocked = [(s.chrom, s.pos - 12, s.end + 12) for s in planted + decoys]
    sites = _random_sites(rng(7), genome, genes, 3_400, blocked)
    sites = _purifying_selection(rng(12), sites, genes, genome) + planted + decoys
    order = {c: i for i, (c, _) in enumerate(CONTIGS)}
    sites.sort(key=lambda s: (order[s.chrom], s.pos))
    _assign_haplotypes(rng(8), sites, trans)

    bams, bais = {}, {}
    for i, sample in enumerate(SAMPLE_ORDER):
        reads, flowcell = _simulate_reads(rng(100 + i), i, sample, genome, windows, sites)
        path = out / f"{sample}.bam"
        _write_bam(path, sample, reads, flowcell, seed, genome)
        bams[sample], bais[sample] = path, Path(str(path) + ".bai")

    kept = _call(rng(9), sites, genome)
    _annotate(rng(10), kept, genes, regulatory, genome)

    ref_path = out / REFERENCE_NAME
    _write_reference(ref_path, genome)

    vcf_plain = out / "DEMO.vcf"
    line_rng = rng(11)
    with open(vcf_plain, "w", encoding="ascii", newline="\n") as fh:
        fh.write("\n".join(_vcf_header(seed)) + "\n")
        for site in kept:
            fh.write(_vcf_line(line_rng, site, genome) + "\n")
    vcf = out / "DEMO.vcf.gz"
    pysam.tabix_compress(str(vcf_plain), str(vcf), force=True)
    vcf_plain.unlink()
    pysam.tabix_index(str(vcf), preset="vcf", force=True)

    ped = out / "DEMO.ped"
    ped.write_text(f"{FAMILY_ID}\t{PROBAND}\t{FATHER}\t{MOTHER}\t1\t2\n"
                   f"{FAMILY_ID}\t{FATHER}\t0\t0\t1\t1\n"
                   f"{FAMILY_ID}\t{MOTHER}\t0\t0\t2\t1\n", encoding="ascii")
    bed = out / "DEMO.targets.bed"
    bed.write_text("".join(f"{c}\t{s}\t{e}\t{n}\n" for c, s, e, n in targets), encoding="ascii")
    win_bed = out / "DEMO.read_windows.bed"
    win_bed.write_text("".join(f"{c}\t{s}\t{e}\n" for c, s, e in windows), encoding="ascii")
    panel = out / "DEMO.panel.txt"
    panel.write_text("".join(f"{g}\n" for g in PANEL), encoding="ascii")

    planted_info = [dict(s.planted) for s in sorted(planted, key=lambda s: (order[s.chrom], s.pos))]
    return DemoFiles(out_dir=out, reference=ref_path, reference_fai=Path(str(ref_path) + ".fai"),
                     reference_gzi=Path(str(ref_path) + ".gzi"), ped=ped, vcf=vcf,
                     vcf_index=Path(str(vcf) + ".tbi"), bams=bams, bam_indexes=bais,
                     targets_bed=bed, read_windows_bed=win_bed, panel=panel,
                     samples={"proband": PROBAND, "father": FATHER, "mother": MOTHER},
                     planted=planted_info, seed=seed, n_variants=len(kept))
