"""The engine: facts, planning, apply, verify, fleet runner, plan files, journal, rollback."""
