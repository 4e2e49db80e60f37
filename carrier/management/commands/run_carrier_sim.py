"""`manage.py run_carrier_sim`: the local carrier simulator in the foreground, for `make run` and demos."""

import logging
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from carrier.simulator import CarrierSimulator, Faults


class Command(BaseCommand):
    help = (
        "Run the carrier simulator (TCR registry, number authorisation, messaging) until interrupted. "
        "Point CARRIER_API_URL at it."
    )
    # The simulator stands in for an outside party: it needs neither the portal's URLs, models nor database.
    requires_system_checks = []

    def add_arguments(self, parser):
        defaults = Faults()
        parser.add_argument("--host", default="127.0.0.1", help="Address to bind (default: loopback only).")
        parser.add_argument("--port", type=int, default=8765, help="Port (0: any free port, printed at start).")
        parser.add_argument(
            "--delay", type=float, default=defaults.delay_seconds, help="Seconds before submissions are decided."
        )
        parser.add_argument("--error-rate", type=float, default=0.0, help="Share of requests answered 503 (0-1).")
        parser.add_argument(
            "--timeout-rate", type=float, default=0.0, help="Share of requests done but answered too late (0-1)."
        )
        parser.add_argument(
            "--timeout-seconds", type=float, default=defaults.timeout_seconds, help="How late those answers come."
        )
        parser.add_argument("--duplicate-callbacks", action="store_true", help="Send every callback twice.")
        parser.add_argument(
            "--forget-idempotency-keys",
            action="store_true",
            help="Apply every POST as new, as a carrier that lost its keys does: a blind resend creates a duplicate.",
        )
        parser.add_argument("--api-key", default=None, help="API key to accept (default: settings.CARRIER_API_KEY).")
        parser.add_argument(
            "--webhook-secret", default=None, help="Callback signing secret (default: settings.CARRIER_WEBHOOK_SECRET)."
        )

    def handle(self, *args, **options):
        webhook_secret = options["webhook_secret"] or settings.CARRIER_WEBHOOK_SECRET
        if not webhook_secret:
            raise CommandError("No webhook secret: set CARRIER_WEBHOOK_SECRET or pass --webhook-secret.")
        if options["verbosity"] >= 2:
            logging.getLogger("carrier.simulator").setLevel(logging.DEBUG)
        try:
            simulator = CarrierSimulator(
                host=options["host"],
                port=options["port"],
                api_key=options["api_key"] or settings.CARRIER_API_KEY,
                webhook_secret=webhook_secret,
                delay_seconds=options["delay"],
                error_rate=options["error_rate"],
                timeout_rate=options["timeout_rate"],
                timeout_seconds=options["timeout_seconds"],
                duplicate_callbacks=options["duplicate_callbacks"],
                forget_idempotency_keys=options["forget_idempotency_keys"],
            ).start()
        except (ValueError, OSError) as error:
            raise CommandError(f"Cannot start the carrier simulator: {error}") from error

        stopping = threading.Event()
        # SIGTERM (docker stop, a supervisor, a test) stops as cleanly as Ctrl-C.
        signal.signal(signal.SIGTERM, lambda signum, frame: stopping.set())
        self.stdout.write(f"Carrier simulator listening on {simulator.url} (Ctrl-C to stop)")
        self.stdout.flush()
        try:
            while not stopping.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            simulator.stop()
        self.stdout.write("Carrier simulator stopped.")
