"""Lambda: Start the on-demand run of one dataflow over a window (POST /runs), at most once per window."""

from stripe_aep.handler import step_handler

lambda_handler = step_handler("run_now.start_flow_run")
