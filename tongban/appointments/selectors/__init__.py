"""Reads of the hall as a service, one module per part (see services/)."""
