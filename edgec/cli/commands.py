"""Every ``edgec`` command, in the order ``edgec --help`` lists them."""

from __future__ import annotations

from edgec.cli.build import BuildCommand, VerifyCommand
from edgec.cli.command import Command
from edgec.cli.evaluate import EvaluateCommand
from edgec.cli.gateway import GatewayCommand
from edgec.cli.model import InspectCommand, RunCommand
from edgec.cli.package import PackageCommand, PushCommand
from edgec.cli.passes import PassesCommand, PruneCommand
from edgec.cli.project import AppCommand, TargetsCommand
from edgec.cli.quantize import QuantizeCommand
from edgec.cli.sweep import SweepCommand

COMMANDS: list[type[Command]] = [InspectCommand, RunCommand, BuildCommand, VerifyCommand,
                                  EvaluateCommand, QuantizeCommand, TargetsCommand, AppCommand,
                                  PassesCommand, PruneCommand, SweepCommand, GatewayCommand,
                                  PackageCommand,
                                  PushCommand]
