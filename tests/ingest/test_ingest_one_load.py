"""One file, one load (issue 22, item 4): the content hash is of a .gz file's decompressed
bytes, so a compressed and a plain copy are one file (the second load is a no-op); samples
whose times a session holds already are refused as the same data twice, unless
--allow-overlap."""

from __future__ import annotations

import gzip
import hashlib
import json

from tests.ingest.loading import ingest, session_of, sidecar, write

HEADER = "record_index,test_time_second,unix_time_second,voltage_volt,current_ampere,cycle_count"


def _file(start: int = 1711843200, rows: int = 50, volts: float = 3.6) -> str:
    lines = [HEADER]
    lines += [f"{i},{10 * i},{start + 10 * i},{volts},1.5,0" for i in range(rows)]
    return "\n".join(lines) + "\n"


def test_a_compressed_and_a_plain_copy_are_one_file(target, tmp_path, capsys):
    text = _file(volts=3.61)
    plain = write(tmp_path, "run.csv", text)
    packed = tmp_path / "run.csv.gz"
    packed.write_bytes(gzip.compress(text.encode()))
    report = tmp_path / "report.json"
    options = ("--sidecar", str(sidecar(tmp_path)))
    code, err = ingest(target, [packed], *options, "--report", str(report), capsys=capsys)
    assert code == 0, err
    record = json.loads(report.read_text())[0]
    content = hashlib.sha256(text.encode()).hexdigest()
    assert record["content_sha256"] == content
    assert record["compressed_sha256"] == hashlib.sha256(packed.read_bytes()).hexdigest()
    session = session_of(target, packed)
    before = target.counts()
    code, err = ingest(target, [plain], "--session", str(session), capsys=capsys)
    assert code == 0
    assert f"{plain}: already loaded (source_file" in err
    assert target.counts() == before
    assert target.query(
        "SELECT content_sha256 FROM source_file WHERE session_id = %s", [session]
    ) == [(content,)]


def test_samples_a_session_holds_are_refused_unless_asked_for(sqlite_target, tmp_path, capsys):
    first = write(tmp_path, "first.csv", _file(volts=3.62))
    code, err = ingest(sqlite_target, [first], "--sidecar", str(sidecar(tmp_path)), capsys=capsys)
    assert code == 0, err
    session = str(session_of(sqlite_target, first))
    (known,) = sqlite_target.query(
        "SELECT source_file_id FROM source_file WHERE uri = %s", [str(first)]
    )[0]
    # the same samples re-exported (other bytes), starting at the first file's 21st sample
    again = write(tmp_path, "again.csv", _file(start=1711843200 + 200, volts=3.63))
    before = sqlite_target.counts()
    code, err = ingest(sqlite_target, [again], "--session", session, capsys=capsys)
    assert code == 1
    assert err.splitlines() == [
        f"error: {again}:2: column 'recorded_at': the sample at 2024-03-31T00:03:20Z lies "
        f"within the samples session {session} holds from source_file {known} ('{first}', "
        "2024-03-31T00:00:00Z to 2024-03-31T00:08:10Z): the same data twice? "
        "nothing was written (--allow-overlap loads it anyway)"
    ]
    assert sqlite_target.counts() == before
    code, err = ingest(
        sqlite_target, [again], "--session", session, "--allow-overlap", capsys=capsys
    )
    assert code == 0, err
    # a file that goes on after the session's samples is no overlap
    later = write(tmp_path, "later.csv", _file(start=1711843200 + 3600, volts=3.64))
    code, err = ingest(sqlite_target, [later], "--session", session, capsys=capsys)
    assert code == 0, err


def test_a_compressed_file_cut_short_is_refused(sqlite_target, tmp_path, capsys):
    packed = tmp_path / "cut.csv.gz"
    packed.write_bytes(gzip.compress(_file(rows=2000, volts=3.65).encode())[:3000])
    before = sqlite_target.counts()
    code, err = ingest(sqlite_target, [packed], "--sidecar", str(sidecar(tmp_path)), capsys=capsys)
    assert code == 1
    assert err.splitlines() == [
        f"error: {packed}: cannot read the file: its compressed data ends before the "
        "end-of-stream marker (the file was cut short: copy it again)"
    ]
    assert sqlite_target.counts() == before
