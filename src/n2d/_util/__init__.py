"""Helpers shared by the stages and the command line: devices, files, checks, threads, provenance."""
