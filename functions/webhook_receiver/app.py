"""Lambda (Function URL): Adobe I/O Events webhook: challenge, signature check, replay guard, then SQS."""

from stripe_aep.handler import deferred_handler

lambda_handler = deferred_handler("stripe_aep.push.handlers:webhook_receiver")
