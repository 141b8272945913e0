"""Blueprints (view layouts): the YAML model and its form as a Rerun blueprint store."""
