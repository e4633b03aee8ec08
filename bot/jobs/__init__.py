"""JobLauncher adapters: `local` (runs processing_job beside the bot) and `sagemaker`."""
