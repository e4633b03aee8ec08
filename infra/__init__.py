"""The CDK app that deploys videobot: one stack, one construct per concern."""
