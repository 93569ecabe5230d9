"""A command that runs one follow-up step once (``plan_touches``, ``dispatch_touches``)."""

from django.core.management.base import BaseCommand, CommandError

from ._steps import Step, describe, run_step


class SingleStepCommand(BaseCommand):
    step: Step
    actor: str

    def handle(self, *args, **options):
        outcome = run_step(self.step, actor=self.actor)
        line = describe(outcome)
        if outcome.status == "failed":
            raise CommandError(line)
        if outcome.status == "unavailable":
            self.stderr.write(self.style.WARNING(line))
            return
        self.stdout.write(self.style.SUCCESS(line))
