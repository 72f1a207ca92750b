"""``stripe-aep``: the operator's command line over the provisioner's state machines, table and health check.

Thin by design: inputs are validated with the layer's own models (``stripe_aep.tenants``), executions are
named with its ``execution_name``, DynamoDB is read through its ``Store``; the rest is boto3, typer and rich.
One module per command group in ``stripe_aep_cli.commands`` (``register(app)`` each); ``app`` wires them.

Exit codes: 0 success, 1 failed operation (execution FAILED/TIMED_OUT/ABORTED, or an AWS error), 2 usage error
(bad tenant id or option, no stack to talk to), 3 unhealthy result (``health`` found an unhealthy dataflow).
"""

from stripe_aep_cli.app import app, main
from stripe_aep_cli.common import ExitCode

__all__ = ["ExitCode", "app", "main"]
