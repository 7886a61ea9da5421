"""The rollback journal: durable, private, chained; a torn tail is ignored, damage is not."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from remediate.engine.journal import Journal, read_journal
from remediate.engine.runs import Runs
from remediate.errors import JournalCorrupt

CHANGE = {"address": "mail001/mailbox:MailboxTemplate@example.com/ReplyOnce", "action": "create"}
TASK = {"play": 0, "index": 0, "type": "mailsite.reply_once", "name": "reply once", "args": {}}


def write_three(directory: Path) -> Path:
    journal = Journal(directory, "run-1")
    journal.record_intent("mail001", CHANGE, TASK, None, 1)
    journal.record_outcome("mail001", CHANGE, TASK, None, 1, "applied")
    journal.record_intent("mail002", CHANGE, TASK, 0, 1)
    journal.close()
    return directory / "journal.jsonl"


def test_records_read_back_in_order_with_sequence_numbers(tmp_path: Path) -> None:
    records = read_journal(write_three(tmp_path))
    assert [(r.seq, r.host, r.phase) for r in records] == [
        (1, "mail001", "intent"),
        (2, "mail001", "outcome"),
        (3, "mail002", "intent"),
    ]
    assert records[1].status == "applied"


def test_journal_and_run_files_are_private(tmp_path: Path) -> None:
    info, journal = Runs(tmp_path / "runs").create("apply", {"arguments": []})
    journal.record_intent("mail001", CHANGE, TASK, None, 1)
    journal.close()
    assert stat.S_IMODE(os.stat(info.path).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "runs").st_mode) == 0o700
    for name in ("journal.jsonl", "run.json"):
        assert stat.S_IMODE(os.stat(info.path / name).st_mode) == 0o600


def test_a_torn_last_line_is_ignored(tmp_path: Path) -> None:
    path = write_three(tmp_path)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) - 20])  # the last write was cut short by a crash
    records = read_journal(path)
    assert [r.seq for r in records] == [1, 2]


def test_appending_after_a_torn_line_starts_a_clean_line(tmp_path: Path) -> None:
    path = write_three(tmp_path)
    path.write_bytes(path.read_bytes()[:-20])
    journal = Journal(tmp_path, "run-1")
    journal.record_outcome("mail001", CHANGE, TASK, None, 1, "applied")
    journal.close()
    assert [r.seq for r in read_journal(path)] == [1, 2, 3]


def test_damage_before_the_last_line_is_refused_with_its_line(tmp_path: Path) -> None:
    path = write_three(tmp_path)
    lines = path.read_text().splitlines()
    body = json.loads(lines[0])
    body["after"] = 0  # someone edited history
    lines[0] = json.dumps(body, sort_keys=True, separators=(",", ":"))
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(JournalCorrupt, match=r"journal.jsonl:1: "):
        read_journal(path)


def test_a_deleted_record_breaks_the_chain(tmp_path: Path) -> None:
    path = write_three(tmp_path)
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], lines[2], lines[2]]) + "\n")
    with pytest.raises(JournalCorrupt, match=r"journal.jsonl:2: "):
        read_journal(path)


def test_a_complete_last_record_that_fails_its_checksum_is_damage(tmp_path: Path) -> None:
    path = write_three(tmp_path)
    lines = path.read_text().splitlines()
    lines[-1] = lines[-1].replace('"intent"', '"outcome"')  # whole line, newline and all
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(JournalCorrupt, match=r"journal.jsonl:3: "):
        read_journal(path)


def test_records_removed_from_the_end_of_a_finished_run_are_noticed(tmp_path: Path) -> None:
    runs = Runs(tmp_path / "runs")
    info, journal = runs.create("apply", {"arguments": []})
    for _ in range(3):
        journal.record_intent("mail001", CHANGE, TASK, None, 1)
    journal.close()
    runs.finish(info, {"journal_records": journal.records})
    path = info.path / "journal.jsonl"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:2]))
    with pytest.raises(JournalCorrupt, match="holds 2 records but its run finished with 3"):
        runs.get(info.run_id).journal()
