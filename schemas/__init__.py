"""JSON Schemas shipped with cxhub (installed as package data so every install can validate)."""
