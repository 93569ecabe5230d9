"""Follow-ups: built by its own issue; installed now so that the layout is complete."""
