"""Pure decisions: no I/O, no clock reads (now is passed in), no frameworks."""
