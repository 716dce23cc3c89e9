"""Workspace: encryption at rest, single owner, migrations, Qt-free core, offline."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

from raredesk.errors import WorkspaceError
from raredesk.store import schema
from raredesk.store.importer import import_vcf
from raredesk.store.workspace import DB_FILE, Workspace


def test_encrypted_workspace_round_trip(tmp_path, data_dir):
    path = tmp_path / "enc"
    with Workspace(path, passphrase="correct horse battery staple") as ws:
        import_vcf(ws, data_dir / "scout/643594.clinical.vcf.gz", "secret-case")
    raw = (path / DB_FILE).read_bytes()
    for plain in (b"ADM1059A2", b"secret-case", b"ENST00000361923", b"ADM1059"):
        assert plain not in raw
    with pytest.raises(WorkspaceError, match="encrypted: give its passphrase"):
        Workspace(path)
    with pytest.raises(WorkspaceError, match="wrong passphrase"):
        Workspace(path, passphrase="wrong")
    with Workspace(path, passphrase="correct horse battery staple") as ws:
        n = ws.cursor().execute("SELECT n_variants FROM cases WHERE name = 'secret-case'").fetchone()[0]
    assert n == 680


def test_plain_workspace_is_readable_text(tmp_path, data_dir):
    with Workspace(tmp_path / "plain") as ws:
        import_vcf(ws, data_dir / "scout/643594.clinical.vcf.gz", "visible-case")
    assert b"visible-case" in (tmp_path / "plain" / DB_FILE).read_bytes()


def test_second_process_gets_a_clear_lock_error(tmp_path):
    path = tmp_path / "ws"
    Workspace(path).close()
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from raredesk.store.workspace import Workspace
        ws = Workspace({str(path)!r})
        print("ready", flush=True)
        sys.stdin.readline()
    """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(WorkspaceError, match=rf"open in another RareDesk \(PID {holder.pid}\)"):
            Workspace(path)
    finally:
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=30)
    Workspace(path).close()   # free again


def test_migrations_applied_once(tmp_path):
    with Workspace(tmp_path / "ws") as ws:
        rows = ws.cursor().execute("SELECT version FROM schema_version ORDER BY version").fetchall()
    assert [r[0] for r in rows] == [m[0] for m in schema.MIGRATIONS]
    with Workspace(tmp_path / "ws") as ws:
        again = ws.cursor().execute("SELECT count(*) FROM schema_version").fetchone()[0]
    assert again == len(schema.MIGRATIONS)


def test_newer_workspace_is_refused(tmp_path):
    with Workspace(tmp_path / "ws") as ws:
        ws.cursor().execute("INSERT INTO schema_version (version, description) VALUES (999, 'future')")
    with pytest.raises(WorkspaceError, match="newer than this RareDesk"):
        Workspace(tmp_path / "ws")


def test_workspace_path_that_is_a_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(WorkspaceError, match="is a file"):
        Workspace(f)


def test_damaged_database_is_a_clear_error(tmp_path):
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / DB_FILE).write_bytes(b"this is not a database" * 100)
    with pytest.raises(WorkspaceError):
        Workspace(tmp_path / "ws")


def test_core_imports_without_qt():
    code = textwrap.dedent("""
        import sys
        import raredesk.cli, raredesk.store.importer, raredesk.store.knowledge, raredesk.store.query
        import raredesk.acmg.combine, raredesk.io.vcf
        import importlib
        for name in ("raredesk.filters", "raredesk.io.bam", "raredesk.io.coverage", "raredesk.demo.generator"):
            try:
                importlib.import_module(name)
            except ImportError:
                pass
        raredesk.cli.build_parser()
        qt = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph"))
        assert not qt, qt
        print("ok")
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "ok", proc.stderr


def test_import_opens_no_network_connection(tmp_path, data_dir):
    """Run the whole CLI import in a process where any socket use aborts."""
    code = textwrap.dedent(f"""
        import socket, sys
        def refuse(*a, **k):
            raise SystemExit("NETWORK USED: %r" % (a,))
        socket.socket.connect = refuse
        socket.socket.connect_ex = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse
        from raredesk.cli import main
        rc = main(["import", {str(data_dir / 'scout/643594.clinical.vcf.gz')!r}, "--case", "c",
                   "--workspace", {str(tmp_path / 'ws')!r}, "--ped", {str(data_dir / 'scout/643594.ped')!r}])
        rc |= main(["annotate", "--case", "c", "--workspace", {str(tmp_path / 'ws')!r},
                    "--gnomad", {str(data_dir / 'vcfanno/gno.vcf.gz')!r}])
        sys.exit(rc)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "NETWORK USED" not in proc.stdout + proc.stderr


def test_migration_landing_out_of_order_is_applied(tmp_path, monkeypatch):
    """A migration file numbered below one already applied (parallel work) still runs."""
    with Workspace(tmp_path / "ws") as ws:
        con = ws.cursor()
        last = max(m[0] for m in schema.MIGRATIONS)
        con.execute("DELETE FROM schema_version WHERE version = ?", [last - 1])
        con.execute("CREATE TABLE probe_out_of_order (x INTEGER)")
    late = [m for m in schema.MIGRATIONS if m[0] != last - 1]
    late.append((last - 1, "late", ["INSERT INTO probe_out_of_order VALUES (42)"]))
    monkeypatch.setattr(schema, "MIGRATIONS", sorted(late))
    with Workspace(tmp_path / "ws") as ws:
        assert ws.cursor().execute("SELECT x FROM probe_out_of_order").fetchall() == [(42,)]


def test_cli_passphrase_file(tmp_path, data_dir):
    """--passphrase-file encrypts a new workspace; commands without it get one clear line."""
    import os

    key = tmp_path / "key.txt"
    key.write_text("a long clinic passphrase\n")
    ws = str(tmp_path / "enc")
    env = {k: v for k, v in os.environ.items() if k != "RAREDESK_DEBUG"}

    def run(*args):
        return subprocess.run([sys.executable, "-m", "raredesk", *args], capture_output=True, text=True,
                              timeout=120, env=env)

    ok = run("import", str(data_dir / "slivar/clinvar_20191007.vcf.gz"), "--case", "private-case-name", "--workspace",
             ws, "--passphrase-file", str(key))
    assert ok.returncode == 0, ok.stderr
    assert b"private-case-name" not in (tmp_path / "enc" / DB_FILE).read_bytes()
    locked = run("cases", "--workspace", ws)
    assert locked.returncode == 2 and "Traceback" not in locked.stderr
    assert locked.stderr.strip().endswith("workspace is encrypted: give its passphrase (--passphrase-file)")
    listed = run("cases", "--workspace", ws, "--passphrase-file", str(key))
    assert listed.returncode == 0 and "\nprivate-case-name\t" in listed.stdout
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    bad = run("cases", "--workspace", ws, "--passphrase-file", str(empty))
    assert bad.returncode == 2 and "the passphrase file is empty" in bad.stderr


def test_import_left_in_the_log_survives_a_crash(tmp_path, data_dir):
    """The import commits each chunk to the write-ahead log and checkpoints rarely
    (256 MB): a process killed right after the import loses nothing."""
    path = tmp_path / "ws"
    vcf = data_dir / "slivar/ashk-trio.vcf.gz"
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        import os
        from raredesk.store.workspace import Workspace
        from raredesk.store.importer import import_vcf
        ws = Workspace({str(path)!r})
        res = import_vcf(ws, {str(vcf)!r}, "trio", chunk_bytes=300_000)
        print(res.variant_rows, flush=True)
        os._exit(0)   # no close, no checkpoint: as if killed
    """)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rows = int(proc.stdout.split()[-1])
    wal = path / (DB_FILE + ".wal")
    assert wal.exists() and wal.stat().st_size > 1_000_000   # the rows are in the log, not yet in the file
    ws = Workspace(path)
    try:
        con = ws.cursor()
        assert con.execute("SELECT count(*) FROM case_1_variants").fetchone()[0] == rows > 0
        assert con.execute("SELECT status, n_variants FROM cases").fetchall() == [("imported", rows)]
        assert con.execute("SELECT status FROM files").fetchall() == [("imported",)]
        assert con.execute("SELECT count(*) FROM case_1_annotations").fetchone()[0] > 0
    finally:
        ws.close()
    assert not wal.exists() or wal.stat().st_size == 0
