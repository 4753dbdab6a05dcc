"""Pure domain rules (no database): the handoff state machine, overdue, avoidable days."""
