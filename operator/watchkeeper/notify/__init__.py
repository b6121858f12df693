"""Notification delivery: one module per channel type behind one interface."""
