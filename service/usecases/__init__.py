"""Use cases: functions taking a session and ids. They own the transaction and the domain rules."""
