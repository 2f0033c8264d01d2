"""Workflows: compose engines (single runs, validation cases; cohorts and calibration later)."""
