"""Fakes of other people's services that moto doesn't cover (Amazon Bedrock's Converse APIs)."""
