"""A resumed `allocsim train` says where it resumes from: the run folder, the step and the checkpoint."""

from __future__ import annotations

from pathlib import Path

from allocsim.agents.runfiles import MODEL, resume_note, write_progress


def test_the_line_names_the_folder_the_step_and_the_checkpoint(tmp_path: Path) -> None:
    (tmp_path / MODEL).write_bytes(b"")
    write_progress(tmp_path, 1500, False)
    assert resume_note(tmp_path, 3000) == (
        f"resuming {tmp_path} from step 1,500 of 3,000 (checkpoint {tmp_path / 'model.zip'})")


def test_nothing_to_resume_from_is_said_and_a_finished_run_is_left_to_its_own_line(tmp_path: Path) -> None:
    assert resume_note(tmp_path, 3000) == (
        f"--resume: no finished checkpoint in {tmp_path} yet; training starts afresh")
    (tmp_path / MODEL).write_bytes(b"")
    write_progress(tmp_path, 3000, True)
    assert resume_note(tmp_path, 3000) is None  # the command says "already finished"
