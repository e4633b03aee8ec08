"""The generation container: a JobSpec in, an mp4 out. Knows nothing of Slack.

Importing this package is cheap (no torch): the bot shares `spec` and `models`.
"""
