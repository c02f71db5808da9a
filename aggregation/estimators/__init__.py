"""DIF-corrected estimators beside the plain means (pure functions, no ORM)."""
