"""Lambda (Function URL): Adobe I/O Events webhook: challenge, signature check, replay guard, then SQS."""

import os

from stripe_aep.push.handlers import webhook_receiver

lambda_handler = webhook_receiver(os.environ)
