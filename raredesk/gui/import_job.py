"""Importing a case in the background: the request the new-case dialog fills, the job, its controller.

:func:`run_import` is Qt-free (it runs on a worker thread): checks the files
against each other, writes a PED from the dialog's pedigree when no PED file
was given, calls :func:`raredesk.store.importer.import_vcf` with ``progress``
and ``cancel``, then records the reference FASTA and the target BED on the
case. A cancelled or failed import leaves the workspace as it was (the
importer's single transaction) and removes the PED it wrote.

:class:`ImportController` runs one import at a time and reports through signals.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from raredesk.errors import InputError, RareDeskError
from raredesk.store.importer import CancelToken, CaseSpec, ImportResult, import_vcf, sha256_file
from raredesk.gui.workers import JobRunner, make_pool

PED_SEX = {"male": "1", "female": "2"}
PED_AFFECTED = {True: "2", False: "1"}


@dataclass
class PedigreeMember:
    """One person of the case as the dialog describes them.

    Attributes
    ----------
    sample_id : str
    role : str
        ``proband``, ``father``, ``mother``, ``sibling`` or ``relative``.
    sex : str
        ``male``, ``female`` or ``unknown``.
    affected : bool or None
    alignment : str or None
        BAM/CRAM path.
    """

    sample_id: str
    role: str = "relative"
    sex: str = "unknown"
    affected: bool | None = None
    alignment: str | None = None


@dataclass
class ImportRequest:
    """Everything needed to create (or extend) a case from files.

    Attributes
    ----------
    case : str
    vcf : str
    ped : str or None
        A PED file; when None, one is written from ``members``.
    members : list of PedigreeMember
    reference : str or None
    targets : str or None
        Target BED, recorded with the case's files.
    build : str or None
    spec : CaseSpec
    """

    case: str
    vcf: str
    ped: str | None = None
    members: list[PedigreeMember] = field(default_factory=list)
    reference: str | None = None
    targets: str | None = None
    build: str | None = None
    spec: CaseSpec = field(default_factory=CaseSpec)

    @property
    def alignments(self) -> dict[str, str]:
        return {m.sample_id: str(Path(m.alignment).resolve()) for m in self.members if m.alignment}


@dataclass
class ImportOutcome:
    """What the GUI reports after an import."""

    result: ImportResult
    notes: list[str]


def pedigree_text(family: str, members: list[PedigreeMember]) -> str | None:
    """A PED file for the members (None when no roles beyond a single proband were given)."""
    if not members or all(m.role in ("relative", None) for m in members):
        return None
    father = next((m.sample_id for m in members if m.role == "father"), "0")
    mother = next((m.sample_id for m in members if m.role == "mother"), "0")
    fam = re.sub(r"\s+", "_", family.strip()) or "FAMILY"
    lines = ["#family\tindividual\tfather\tmother\tsex\tphenotype"]
    for m in members:
        fa, mo = (father, mother) if m.role in ("proband", "sibling") else ("0", "0")
        lines.append("\t".join([fam, m.sample_id, fa, mo, PED_SEX.get(m.sex, "0"),
                                PED_AFFECTED.get(m.affected, "0")]))
    return "\n".join(lines) + "\n"


def run_import(ws, req: ImportRequest, progress=None, cancel: CancelToken | None = None) -> ImportOutcome:
    """Check the inputs, import, record reference and targets (worker thread; Qt-free)."""
    from raredesk.io.inputs import check_alignments
    from raredesk.io.vcf import read_header

    if not req.case.strip():
        raise RareDeskError("give the case a name")
    for path, what in ((req.vcf, "VCF"), (req.ped, "PED"), (req.reference, "reference FASTA"),
                       (req.targets, "target BED")):
        if path and not Path(path).is_file():
            raise InputError(f"{what} not found", path)
    header = read_header(req.vcf)
    notes = check_alignments(req.vcf, header, req.alignments, req.reference)
    ped_path, wrote_ped = req.ped, False
    proband = next((m.sample_id for m in req.members if m.role == "proband"), None) or req.spec.proband
    if not ped_path:
        text = pedigree_text(req.case, req.members)
        if text:
            folder = Path(ws.path) / "pedigrees"
            folder.mkdir(exist_ok=True)
            safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", req.case)
            ped_path = str(folder / f"{safe}.ped")
            Path(ped_path).write_text(text, encoding="utf-8")
            wrote_ped = True
    spec = CaseSpec(proband=proband, sex=req.spec.sex, indication=req.spec.indication,
                    hpo_terms=list(req.spec.hpo_terms), consent_secondary=req.spec.consent_secondary)
    try:
        res = import_vcf(ws, req.vcf, req.case, ped=ped_path, proband=proband, alignments=req.alignments,
                         reference=str(Path(req.reference).resolve()) if req.reference else None, build=req.build,
                         case_spec=spec, progress=progress, cancel=cancel)
    except BaseException:
        if wrote_ped:
            Path(ped_path).unlink(missing_ok=True)
        raise
    if not res.already_imported and (req.reference or req.targets):
        with ws.write_lock:
            con = ws.cursor()
            try:
                con.execute("BEGIN TRANSACTION")
                if req.reference:
                    con.execute("UPDATE cases SET reference_path = ? WHERE case_id = ?",
                                [str(Path(req.reference).resolve()), res.case_id])
                if req.targets:
                    p = Path(req.targets).resolve()
                    st = os.stat(p)
                    fid = con.execute("SELECT nextval('file_id_seq')").fetchone()[0]
                    con.execute("INSERT INTO files (file_id, case_id, path, kind, size, sha256) "
                                "VALUES (?, ?, ?, 'targets', ?, ?)", [fid, res.case_id, str(p), st.st_size,
                                                                       sha256_file(p)])
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            finally:
                con.close()
    return ImportOutcome(res, list(notes) + list(res.warnings))


class ImportController(QObject):
    """Runs one import at a time on its own thread and reports progress.

    Signals
    -------
    import_started(str)            case name
    import_progressed(int, int, str)
    import_finished(object)        ImportOutcome
    import_failed(object)          the exception
    import_cancelled(str)          case name
    """

    import_started = Signal(str)
    import_progressed = Signal(int, int, str)
    import_finished = Signal(object)
    import_failed = Signal(object)
    import_cancelled = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.runner = JobRunner(make_pool(1, "import"), self)
        self._token: CancelToken | None = None
        self._request: ImportRequest | None = None
        self._rid = None

    @property
    def running(self) -> bool:
        return self._token is not None

    @property
    def case_name(self) -> str | None:
        return self._request.case if self._request else None

    def start(self, ws, req: ImportRequest) -> bool:
        if self.running:
            return False
        self._token = CancelToken()
        self._request = req
        job = self.runner.submit(run_import, ws, req, with_progress=True, cancel=self._token,
                                 on_result=self._on_result, on_error=self._on_error,
                                 on_progress=self._on_progress, on_cancelled=self._on_cancelled)
        self._rid = job.request_id
        self.import_started.emit(req.case)
        return True

    def cancel(self) -> None:
        if self._token is not None:
            self._token.cancel()

    def wait(self, msecs: int = -1) -> bool:
        return self.runner.wait(msecs)

    def _done(self) -> None:
        self._token = None
        self._request = None

    def _on_progress(self, rid, done, total, text) -> None:
        if rid == self._rid:
            self.import_progressed.emit(done, total, text)

    def _on_result(self, rid, outcome) -> None:
        if rid == self._rid:
            self._done()
            self.import_finished.emit(outcome)

    def _on_error(self, rid, exc) -> None:
        if rid == self._rid:
            self._done()
            self.import_failed.emit(exc)

    def _on_cancelled(self, rid) -> None:
        if rid == self._rid:
            name = self._request.case if self._request else ""
            self._done()
            self.import_cancelled.emit(name)
