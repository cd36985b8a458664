"""Reelboard's behaviour layer: config, storage, crypto, the TikTok client, sync, metrics, CLI.

Nothing in this package imports streamlit (the architecture notes in README.md "Rules of the
house"); the app and the CLI
(`python -m services`) share every function here.
"""
