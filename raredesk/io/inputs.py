"""Checks across the files of a case before import: which sample each BAM/CRAM
belongs to, and whether VCF, BAM/CRAM and FASTA name their contigs compatibly
(a mismatch would otherwise silently show "no reads" later)."""

from __future__ import annotations

from pathlib import Path

from raredesk.errors import InputError
from raredesk.io.genome import canonical_contig
from raredesk.io.vcf import VcfHeader


def _alignment_header(path: str):
    import pysam

    pysam.set_verbosity(0)
    p = Path(path)
    if not p.is_file():
        raise InputError("file not found", path)
    mode = "rc" if p.suffix.lower() == ".cram" else "rb"
    try:
        with pysam.AlignmentFile(str(p), mode, check_sq=False) as f:
            return f.header.to_dict()
    except (OSError, ValueError) as exc:
        raise InputError(f"not a readable BAM/CRAM ({str(exc).splitlines()[0] if str(exc) else 'unreadable'})",
                         path) from None


def bam_sample(path: str) -> str:
    """The sample of a BAM/CRAM from its read groups (one SM expected)."""
    hdr = _alignment_header(path)
    names = sorted({rg.get("SM") for rg in hdr.get("RG", []) if rg.get("SM")})
    if not names:
        raise InputError("no read group with a sample name (SM); give it as SAMPLE=PATH", path)
    if len(names) > 1:
        raise InputError(f"read groups name several samples ({', '.join(names)}); give it as SAMPLE=PATH", path)
    return names[0]


def parse_bam_args(values: list[str], samples: list[str]) -> dict[str, str]:
    """``[SAMPLE=]PATH`` arguments -> {sample: path}; sample from the read group when absent."""
    out: dict[str, str] = {}
    for v in values:
        if "=" in v and not Path(v).exists():
            sample, path = v.split("=", 1)
        else:
            path = v
            sample = bam_sample(path)
        if not Path(path).is_file():
            raise InputError("file not found", path)
        if samples and sample not in samples:
            raise InputError(f"its sample {sample!r} is not a sample of the VCF ({', '.join(samples[:8])})", path)
        if sample in out:
            raise InputError(f"two alignment files for sample {sample!r}", path)
        out[sample] = path
    return out


def _fasta_contigs(path: str) -> list[tuple[str, int]]:
    p = Path(path)
    if not p.is_file():
        raise InputError("file not found", path)
    fai = p.with_name(p.name + ".fai")
    if not fai.is_file():
        import pysam

        try:
            pysam.FastaFile(str(p)).close()  # builds the .fai when it can
        except (OSError, ValueError) as exc:
            raise InputError(f"not an indexed FASTA ({str(exc).splitlines()[0] if str(exc) else ''})", path) from None
    out = []
    for line in fai.read_text().splitlines():
        cols = line.split("\t")
        if len(cols) >= 2:
            out.append((cols[0], int(cols[1])))
    return out


def check_alignments(vcf: str, header: VcfHeader, alignments: dict[str, str], reference: str | None) -> list[str]:
    """Check contig naming of BAM/CRAM and FASTA against the VCF; return notes.

    Different spellings of the same contig (``chr20`` vs ``20``) are fine —
    RareDesk harmonises them — and are noted. No shared contig at all is an error.
    """
    notes: list[str] = []
    if not alignments and not reference:
        return notes
    from raredesk.io.vcf import first_contigs

    # the contigs the records use (declared ones may include every contig of the build)
    vcf_raw = first_contigs(vcf) or {c for c, _ in header.contigs}
    vcf_contigs = {canonical_contig(c) for c in vcf_raw}
    sources = [(path, [sq["SN"] for sq in _alignment_header(path).get("SQ", [])]) for path in alignments.values()]
    if reference:
        sources.append((reference, [c for c, _ in _fasta_contigs(reference)]))
    for path, names in sources:
        if not names:
            raise InputError("the header lists no contigs (@SQ)", path)
        canon = {canonical_contig(n) for n in names}
        if vcf_contigs and not (canon & vcf_contigs):
            raise InputError(f"no contig in common with the VCF {Path(vcf).name} (here: {', '.join(names[:4])}...; "
                             f"VCF: {', '.join(sorted(vcf_raw)[:4])}...)", path)
        if vcf_raw and not (set(names) & vcf_raw) and (canon & vcf_contigs):
            notes.append(f"{Path(path).name} names contigs differently from the VCF (e.g. {names[0]} vs "
                         f"{sorted(vcf_raw)[0]}); RareDesk maps them to each other")
    return notes
