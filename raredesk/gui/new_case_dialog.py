"""The new-case dialog: files, pedigree (or a PED), clinical facts; returns an ImportRequest.

Problems are listed inside the dialog (which field, what is wrong) and OK stays
available so the user learns what to fix; nothing is imported until they are
resolved.
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QGroupBox,
                               QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from raredesk.errors import RareDeskError
from raredesk.gui.import_job import ImportRequest, PedigreeMember
from raredesk.store.importer import CaseSpec

ROLES = ("proband", "father", "mother", "sibling", "relative")
SEXES = ("unknown", "male", "female")
AFFECTED = (("unknown", None), ("affected", True), ("unaffected", False))
HPO_RE = re.compile(r"^HP:\d{7}$")
VCF_FILTER = "Variant calls (*.vcf *.vcf.gz *.bcf);;All files (*)"


class _PathField(QWidget):
    """A path box with a Browse… button."""

    def __init__(self, caption: str, filt: str, parent=None):
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit()
        self.edit.setClearButtonEnabled(True)
        b = QPushButton("Browse…")
        b.clicked.connect(self._on_browse_clicked)
        lay.addWidget(self.edit, 1)
        lay.addWidget(b)
        self.caption, self.filt = caption, filt

    def _on_browse_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.caption, self.edit.text() or str(Path.home()), self.filt)
        if path:
            self.edit.setText(path)
            self.edit.editingFinished.emit()

    def path(self) -> str | None:
        t = self.edit.text().strip()
        return t or None


class NewCaseDialog(QDialog):
    """Create a case from a VCF (+ PED or the pedigree table, BAM/CRAM per sample, reference, targets)."""

    def __init__(self, existing_cases: list[str] = (), parent=None):
        super().__init__(parent)
        self.setWindowTitle("New case")
        self.resize(820, 640)
        self._existing = set(existing_cases)
        self._header_samples: list[str] = []
        lay = QVBoxLayout(self)

        files = QGroupBox("Files")
        fl = QFormLayout(files)
        self.name = QLineEdit(placeholderText="e.g. FAM-2024-017")
        fl.addRow("Case name *", self.name)
        self.vcf = _PathField("Choose the VCF", VCF_FILTER)
        self.vcf.edit.editingFinished.connect(self._on_vcf_chosen)
        fl.addRow("VCF *", self.vcf)
        self.ped = _PathField("Choose a PED file", "Pedigree (*.ped *.fam *.txt);;All files (*)")
        self.ped.edit.editingFinished.connect(self._on_ped_chosen)
        fl.addRow("PED (optional)", self.ped)
        self.reference = _PathField("Choose the reference FASTA", "FASTA (*.fa *.fasta *.fa.gz *.fna *.fasta.gz);;"
                                                                  "All files (*)")
        fl.addRow("Reference FASTA", self.reference)
        self.targets = _PathField("Choose the target BED", "BED (*.bed *.bed.gz);;All files (*)")
        fl.addRow("Target BED", self.targets)
        self.build = QComboBox()
        self.build.addItem("detect from the VCF", None)
        self.build.addItem("GRCh37", "GRCh37")
        self.build.addItem("GRCh38", "GRCh38")
        fl.addRow("Genome build", self.build)
        lay.addWidget(files)

        ped = QGroupBox("Pedigree and alignments (one row per VCF sample)")
        pl = QVBoxLayout(ped)
        self.members = QTableWidget(0, 5)
        self.members.setHorizontalHeaderLabels(["Sample", "Role", "Sex", "Affected", "BAM / CRAM"])
        self.members.horizontalHeader().setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.members.verticalHeader().hide()
        pl.addWidget(self.members)
        self.ped_note = QLabel("Choose the VCF to list its samples.")
        self.ped_note.setEnabled(False)
        pl.addWidget(self.ped_note)
        lay.addWidget(ped, 1)

        clin = QGroupBox("Clinical")
        cl = QFormLayout(clin)
        self.indication = QLineEdit(placeholderText="e.g. developmental and epileptic encephalopathy")
        cl.addRow("Indication", self.indication)
        self.hpo = QLineEdit(placeholderText="HP:0001250, HP:0001263")
        cl.addRow("HPO terms", self.hpo)
        self.consent = QCheckBox("The patient consented to secondary findings (ACMG SF)")
        cl.addRow(self.consent)
        lay.addWidget(clin)

        self.problems = QLabel("")
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet("color: #d03030;")
        self.problems.setVisible(False)
        lay.addWidget(self.problems)
        bb = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        bb.button(QDialogButtonBox.StandardButton.Ok).setText("Import")
        bb.accepted.connect(self._on_accept_clicked)
        bb.rejected.connect(self.reject)
        lay.addWidget(bb)

    # -- samples ------------------------------------------------------------------------------

    def _on_vcf_chosen(self) -> None:
        path = self.vcf.path()
        if not path:
            return
        if not self.name.text().strip():
            stem = Path(path).name
            for ext in (".vcf.gz", ".vcf.bgz", ".vcf", ".bcf"):
                if stem.lower().endswith(ext):
                    stem = stem[: -len(ext)]
            self.name.setText(stem)
        try:
            from raredesk.io.vcf import read_header

            samples = read_header(path).samples
        except RareDeskError as exc:
            self._show_problems([exc.one_line()])
            return
        except Exception as exc:  # unreadable file: say so in the dialog
            self._show_problems([f"{path}: cannot read the VCF header ({exc})"])
            return
        self._show_problems([])
        self.set_samples(samples)

    def set_samples(self, samples: list[str]) -> None:
        self._header_samples = list(samples)
        self.members.setRowCount(len(samples))
        for i, s in enumerate(samples):
            it = QTableWidgetItem(s)
            it.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            self.members.setItem(i, 0, it)
            role = QComboBox()
            role.addItems(ROLES)
            role.setCurrentText("proband" if i == 0 else "relative")
            self.members.setCellWidget(i, 1, role)
            sex = QComboBox()
            sex.addItems(SEXES)
            self.members.setCellWidget(i, 2, sex)
            aff = QComboBox()
            for label, value in AFFECTED:
                aff.addItem(label, value)
            aff.setCurrentIndex(1 if i == 0 else 0)
            self.members.setCellWidget(i, 3, aff)
            bam = _PathField(f"BAM/CRAM of {s}", "Alignments (*.bam *.cram);;All files (*)")
            self.members.setCellWidget(i, 4, bam)
        self.members.resizeColumnsToContents()
        self.members.horizontalHeader().setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.ped_note.setText(f"{len(samples)} sample(s) in the VCF. Set roles here or give a PED file.")
        self._on_ped_chosen()

    def _on_ped_chosen(self) -> None:
        path = self.ped.path()
        using_ped = bool(path)
        for i in range(self.members.rowCount()):
            for c in (1, 2, 3):
                w = self.members.cellWidget(i, c)
                if w is not None:
                    w.setEnabled(not using_ped)
        if using_ped:
            self.ped_note.setText("Roles, sex and affected status come from the PED file.")

    def members_list(self) -> list[PedigreeMember]:
        out = []
        for i in range(self.members.rowCount()):
            sid = self.members.item(i, 0).text()
            role = self.members.cellWidget(i, 1).currentText()
            sex = self.members.cellWidget(i, 2).currentText()
            aff = self.members.cellWidget(i, 3).currentData()
            bam = self.members.cellWidget(i, 4).path()
            out.append(PedigreeMember(sid, role, sex, aff, bam))
        return out

    def set_alignment(self, sample: str, path: str) -> None:
        for i in range(self.members.rowCount()):
            if self.members.item(i, 0).text() == sample:
                self.members.cellWidget(i, 4).edit.setText(path)

    # -- validation ---------------------------------------------------------------------------

    def problems_list(self) -> list[str]:
        out = []
        name = self.name.text().strip()
        if not name:
            out.append("Case name: give the case a name.")
        elif name in self._existing:
            out.append(f"Case name: a case named {name!r} exists; its files would be added to it. "
                       "Choose another name to create a new case.")
        vcf = self.vcf.path()
        if not vcf:
            out.append("VCF: choose the variant calls.")
        elif not Path(vcf).is_file():
            out.append(f"VCF: {vcf} not found.")
        for label, field in (("PED", self.ped), ("Reference FASTA", self.reference), ("Target BED", self.targets)):
            p = field.path()
            if p and not Path(p).is_file():
                out.append(f"{label}: {p} not found.")
        terms = self.hpo_terms()
        bad = [t for t in terms if not HPO_RE.match(t)]
        if bad:
            out.append(f"HPO terms: {', '.join(bad)} not of the form HP:0001250.")
        members = self.members_list()
        if not self.ped.path():
            roles = [m.role for m in members]
            for r in ("proband", "father", "mother"):
                if roles.count(r) > 1:
                    out.append(f"Pedigree: more than one {r}.")
            for m in members:
                if m.role == "father" and m.sex == "female":
                    out.append(f"Pedigree: {m.sample_id} is the father but marked female.")
                if m.role == "mother" and m.sex == "male":
                    out.append(f"Pedigree: {m.sample_id} is the mother but marked male.")
        for m in members:
            if m.alignment and not Path(m.alignment).is_file():
                out.append(f"BAM/CRAM of {m.sample_id}: {m.alignment} not found.")
        return out

    def hpo_terms(self) -> list[str]:
        return [t.strip().upper() for t in re.split(r"[,;\s]+", self.hpo.text()) if t.strip()]

    def _show_problems(self, problems: list[str]) -> None:
        self.problems.setText("\n".join(problems))
        self.problems.setVisible(bool(problems))

    def _on_accept_clicked(self) -> None:
        problems = self.problems_list()
        self._show_problems(problems)
        if not problems:
            self.accept()

    def request(self) -> ImportRequest:
        members = self.members_list()
        proband = next((m for m in members if m.role == "proband"), None)
        spec = CaseSpec(proband=proband.sample_id if proband else None,
                        sex=proband.sex if proband and proband.sex != "unknown" else None,
                        indication=self.indication.text().strip() or None, hpo_terms=self.hpo_terms(),
                        consent_secondary=self.consent.isChecked())
        return ImportRequest(self.name.text().strip(), self.vcf.path(), self.ped.path(), members,
                             self.reference.path(), self.targets.path(), self.build.currentData(), spec)
