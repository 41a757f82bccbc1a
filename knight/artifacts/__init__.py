"""Files derived from the model: create-table parameters, CloudFormation (table; whole stack), NoSQL Workbench."""

from knight.artifacts.cloudformation import cloudformation_template, render_cloudformation
from knight.artifacts.create_table import create_table_params
from knight.artifacts.generated import ARTIFACTS, FORMATS, drift, generated_dir, write_all
from knight.artifacts.stack import render_stack, stack_template
from knight.artifacts.workbench import render_workbench, workbench_model

__all__ = [
    "ARTIFACTS",
    "FORMATS",
    "cloudformation_template",
    "create_table_params",
    "drift",
    "generated_dir",
    "render_cloudformation",
    "render_stack",
    "render_workbench",
    "stack_template",
    "workbench_model",
    "write_all",
]
