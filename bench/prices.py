"""The prices the cost figures use, each with where it came from and whether it was checked.

Nothing here is read live (the benchmark machine has no internet). A price marked unverified could not
be read from AWS's own pages in the stored copies available when this was written: check it on the
linked page before quoting a cost, and edit it here (the tables are regenerated from these).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.conversation.costs import DEFAULT_PRICES_PER_HOUR  # the bot's cards quote the same figures

REGION = "us-east-1"


@dataclass(frozen=True)
class Price:
    usd: float
    unit: str
    source: str
    checked: str  # what was checked, or "unverified" and why

    @property
    def verified(self) -> bool:
        return not self.checked.startswith("unverified")

    def label(self) -> str:
        amount = f"{self.usd:.10f}".rstrip("0").rstrip(".")
        return f"${amount} {self.unit} ({self.checked})"


SAGEMAKER_PAGE = "https://aws.amazon.com/sagemaker/ai/pricing/ (On-Demand, Processing)"
# SageMaker processing, on-demand, per instance-hour. The stored copies of AWS's page don't reach the
# price table; these are the EC2 On-Demand price × 1.25, SageMaker's usual mark-up on these families
# (ml.g5.2xlarge at $1.515 is the figure commonly quoted).
SAGEMAKER_PROCESSING_PER_HOUR = {
    "ml.g5.2xlarge": Price(
        DEFAULT_PRICES_PER_HOUR["ml.g5.2xlarge"],
        "per hour",
        SAGEMAKER_PAGE,
        "unverified: EC2 g5.2xlarge $1.212 × 1.25",
    ),
    "ml.g6e.2xlarge": Price(
        DEFAULT_PRICES_PER_HOUR["ml.g6e.2xlarge"],
        "per hour",
        SAGEMAKER_PAGE,
        "unverified: EC2 g6e.2xlarge $2.242 × 1.25",
    ),
}
# The GPU in each instance and its dense BF16 tensor peak (NVIDIA datasheets; A10G taken as the A10).
INSTANCE_GPUS = {
    "ml.g5.2xlarge": ("A10G", 24, 125.0),
    "ml.g6e.2xlarge": ("L40S", 48, 362.0),
}

# Lambda on Graviton (arm64, as infra/bundle.py deploys), us-east-1, first pricing tier.
LAMBDA_ARM_GB_SECOND = Price(
    0.0000133334,
    "per GB-second",
    "https://aws.amazon.com/lambda/pricing/",
    "two third-party summaries agree (cloudchipr.com, 2024; lambda cost notes on git.mcrn.ar); AWS's "
    "stored page shows no figures",
)
LAMBDA_REQUEST = Price(0.20 / 1e6, "per request", "https://aws.amazon.com/lambda/pricing/", "same sources")

# Claude Sonnet 4.5 through the `us.` cross-region (geographic) inference profile, the stack's default.
BEDROCK_PAGE = "https://aws.amazon.com/bedrock/pricing/"
BEDROCK_INPUT_PER_MTOK = Price(
    3.30,
    "per million input tokens",
    BEDROCK_PAGE,
    "unverified: $3 global rate + 10% for regional and geographic endpoints (clauder-navi.com, 2026)",
)
BEDROCK_OUTPUT_PER_MTOK = Price(
    16.50, "per million output tokens", BEDROCK_PAGE, "unverified: $15 global rate + 10%, same source"
)
