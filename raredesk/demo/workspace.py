"""The demo workspace: generated once, then reused.

``raredesk demo`` writes the synthetic trio (reference, BAMs, annotated VCF,
PED, targets, panel) with the project's own generator into the demo folder,
imports it into a workspace of its own and opens it. The user's real
workspace is never touched.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from raredesk.demo.generator import DEFAULT_SEED, make_demo_case

CASE_NAME = "DEMO-trio"
MARKER = "demo.json"


def default_demo_dir() -> Path:
    env = os.environ.get("RAREDESK_DEMO_DIR")
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("RareDesk", appauthor=False)) / "demo"


@dataclass
class DemoInfo:
    """Where the demo lives and what it holds.

    Attributes
    ----------
    folder : Path
        Holds ``files/`` (the generated inputs) and ``workspace/``.
    workspace : Path
    case : str
    planted : list of dict
        The findings planted by the generator (key, kind, what, inheritance).
    built : bool
        True when this call generated and imported it.
    """

    folder: Path
    workspace: Path
    case: str
    planted: list
    built: bool


def ensure_demo(folder: Path | None = None, seed: int = DEFAULT_SEED) -> DemoInfo:
    """Generate and import the demo case unless it is already there."""
    from raredesk.store.importer import CaseSpec, import_vcf
    from raredesk.store.workspace import Workspace

    folder = Path(folder) if folder else default_demo_dir()
    marker = folder / MARKER
    ws_path = folder / "workspace"
    if marker.is_file():
        meta = json.loads(marker.read_text())
        if meta.get("seed") == seed and (ws_path / "raredesk.duckdb").is_file():
            return DemoInfo(folder, ws_path, meta["case"], meta["planted"], built=False)
    files = make_demo_case(folder / "files", seed=seed)
    spec = CaseSpec(indication="Developmental and epileptic encephalopathy; recurrent chest infections",
                    hpo_terms=["HP:0001250", "HP:0001263", "HP:0002205"], consent_secondary=True)
    with Workspace(ws_path) as ws:
        con = ws.cursor()
        if con.execute("SELECT count(*) FROM cases WHERE name = ?", [CASE_NAME]).fetchone()[0] == 0:
            res = import_vcf(ws, files.vcf, CASE_NAME, ped=str(files.ped),
                             alignments={s: str(p) for s, p in files.bams.items()},
                             reference=str(files.reference), case_spec=spec)
            con.execute("UPDATE cases SET reference_path = ? WHERE case_id = ?", [str(files.reference), res.case_id])
    planted = [{k: v for k, v in p.items() if isinstance(v, (str, int, float, list, dict, type(None)))}
               for p in files.planted]
    marker.write_text(json.dumps({"seed": seed, "case": CASE_NAME, "planted": planted}, indent=1))
    return DemoInfo(folder, ws_path, CASE_NAME, planted, built=True)


def summary(info: DemoInfo) -> str:
    """A plain-text summary of the demo case (printed until the GUI opens it)."""
    from raredesk.store.cases import get_case
    from raredesk.store.workspace import Workspace

    with Workspace(info.workspace, create=False) as ws:
        con = ws.cursor()
        case = get_case(con, info.case)
        n_rare = con.execute(f"SELECT count(*) FROM {case.table} WHERE coalesce(gnomad_af, 0) < 0.001").fetchone()[0]
    lines = [
        f"RareDesk demo workspace: {info.workspace}" + (" (built now)" if info.built else ""),
        f"case {case.name}: {case.n_variants:,} variants, build {case.build or 'synthetic'}, proband {case.proband}",
        "members: " + ", ".join(f"{s.sample_id} ({s.role}, {s.sex}, {'affected' if s.affected else 'unaffected'})"
                                for s in case.samples),
        f"indication: {case.indication}; HPO: {', '.join(case.hpo_terms)}",
        f"{n_rare:,} variants with gnomAD AF < 0.1%",
        "planted findings worth reviewing:",
    ]
    for p in info.planted:
        lines.append(f"  {p.get('key')}  {p.get('gene', '')}  {p.get('what', p.get('kind', ''))}")
    lines.append(f"try: raredesk query --workspace {info.workspace} --case {info.case} --limit 20")
    return "\n".join(lines)
