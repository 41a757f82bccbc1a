"""Files derived from the model: create-table parameters, CloudFormation, NoSQL Workbench."""

from knight.artifacts.cloudformation import cloudformation_template, render_cloudformation
from knight.artifacts.create_table import create_table_params
from knight.artifacts.generated import ARTIFACTS, FORMATS, drift, generated_dir, write_all
from knight.artifacts.workbench import render_workbench, workbench_model

__all__ = [
    "ARTIFACTS",
    "FORMATS",
    "cloudformation_template",
    "create_table_params",
    "drift",
    "generated_dir",
    "render_cloudformation",
    "render_workbench",
    "workbench_model",
    "write_all",
]
