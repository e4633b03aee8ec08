"""videobot's Slack side: the Bolt app, the conversation, the adapters and the completion handler.

Nothing under `bot` imports torch, diffusers or transformers: renders run in `processing_job`.
"""
