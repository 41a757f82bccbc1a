"""Deploying to AWS: the Lambda functions' zip (`knight deploy package`) and the stack (`knight deploy`)."""

from knight.deploy.dependencies import ARCHITECTURES, RUNTIME_GLIBC, LambdaTarget, function_requirements
from knight.deploy.package import UNZIPPED_LIMIT, ZIPPED_LIMIT, LambdaPackage, build_package

__all__ = [
    "ARCHITECTURES",
    "RUNTIME_GLIBC",
    "UNZIPPED_LIMIT",
    "ZIPPED_LIMIT",
    "LambdaPackage",
    "LambdaTarget",
    "build_package",
    "function_requirements",
]
