"""iamcap: what an AWS IAM action really lets a principal do, and guardrail policies built from it."""

__version__ = "0.1.0"
