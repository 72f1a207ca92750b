"""Lambda: Start the on-demand run of one dataflow over a window (POST /runs), at most once per window."""

from stripe_aep.handler import step_handler
from stripe_aep.steps import run_now

lambda_handler = step_handler(run_now.start_flow_run)
