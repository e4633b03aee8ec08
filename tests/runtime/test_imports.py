"""The Slack side stays light: importing the app never pulls in the generation stack."""

import subprocess
import sys

HEAVY = ("torch", "diffusers", "transformers", "numpy", "PIL")


def test_importing_the_bot_never_imports_torch_diffusers_or_transformers():
    code = (
        "import sys, bot.slack.app, bot.runtime.compose, bot.jobs.delivery, bot.conversation.conversation, "
        "bot.jobs.launchers.local;"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == ""


def test_importing_the_lambda_module_and_its_adapters_never_imports_torch_diffusers_or_transformers():
    # What the Lambda functions load to answer (bot.runtime.lambda_handlers builds the rest on first use; the
    # AWS tests
    # check a whole first request the same way).
    code = (
        "import sys, bot.runtime.lambda_handlers, bot.runtime.compose, bot.adapters.store.dynamodb, "
        "bot.adapters.blobs.s3, bot.jobs.launchers.sagemaker,"
        " bot.jobs.capacity, bot.adapters.refiner.bedrock, bot.jobs.sweeper;"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == ""
