"""Batch runs over folders: one JSON line per (video, query), resumable, error-isolated."""
